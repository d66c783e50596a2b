"""The interfaces over the answering stages: HTTP API, web app, CLI, service core, feedback."""
