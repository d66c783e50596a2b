"""The answering stages: understand, retrieve, select, decide, compose, generate and verify."""
