"""Two stateless replicas behind a (pretend) load balancer: a real `chroma run` server, a real
PostgreSQL (feedback) and two real `htx serve` processes with empty local data dirs, on loopback.

What one replica writes, the other serves within seconds; a restarted replica changes nothing
in the shared collections; feedback from both lands in one table (PostgreSQL; a shared SQLite
file where the PostgreSQL binaries are absent)."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from service_helpers import SMALL_DOC, start_server
from test_index_store import KH, TN, chroma_server, shared_snapshot  # noqa: F401  (fixture re-used)

pytestmark = [pytest.mark.server, pytest.mark.slow]

ADMIN = "replica-admin-key"
FOLLOW_S = 15.0  # the acceptance bound: a write through one replica is visible on the other
QUESTION = "Bình Phước thành lập mới bao nhiêu hợp tác xã nuôi ong mật?"
FILE_NAME = "ong_mat_binh_phuoc.txt"


@pytest.fixture(scope="module")
def database_url(request, tmp_path_factory) -> str:
    """The real PostgreSQL of the session; a SQLite file both replicas share where it is absent."""
    try:
        return request.getfixturevalue("postgres_url")
    except pytest.skip.Exception:
        return f"sqlite:///{tmp_path_factory.mktemp('feedback') / 'feedback.sqlite'}"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, chroma_server, database_url):  # noqa: F811
    """A shared index seeded with one bundled document (so both replicas are ready), two replicas."""
    from assistant.runtime import build_store, ingest_paths
    from conftest import CORPUS, make_settings


    host, port = chroma_server
    collection = f"rep_{uuid.uuid4().hex[:8]}"
    seed = make_settings(tmp_path_factory.mktemp("seed"), chroma_host=host, chroma_port=port, collection=collection,
                         sync_interval_s=0.0)
    store = build_store(seed)
    assert all(r.ok for r in ingest_paths(store, [CORPUS / f"{TN}.txt"], seed))
    env = {"CHROMA_HOST": host, "CHROMA_PORT": str(port), "HTX_COLLECTION": collection, "HTX_ADMIN_KEY": ADMIN,
           "HTX_SYNC_INTERVAL_S": "1", "HTX_RATE_LIMIT": "0", "HTX_DATABASE_URL": database_url}
    logs = tmp_path_factory.mktemp("replica_logs")
    dirs = {name: tmp_path_factory.mktemp(f"replica_{name}") for name in ("a", "b")}
    dep = {"env": env, "logs": logs, "collection": collection, "chroma": (host, port), "database_url": database_url}
    try:
        for name, d in dirs.items():
            assert not any(d.iterdir())  # a replica starts from an empty data dir
            dep[name] = start_server(d, logs, env)
        yield dep
    finally:
        for name in ("a", "b"):
            if name in dep:
                dep[name].stop()


def _ask(url: str, question: str = QUESTION) -> dict:
    r = httpx.post(f"{url}/v1/ask", json={"question": question}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def _cited(body: dict) -> set[str]:
    return {c["doc_id"] for c in body["citations"]}


def _wait_for(check, what: str, timeout_s: float = FOLLOW_S):
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    pytest.fail(f"{what} not seen within {timeout_s:.0f} s (last: {last!r})")


def _ready(url: str) -> dict:
    r = httpx.get(f"{url}/readyz", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_replicas_start_from_the_shared_index(deployment):
    a, b = _ready(deployment["a"].url), _ready(deployment["b"].url)
    assert a["documents"] == b["documents"] == 1 and a["generation"] == b["generation"] >= 1
    assert _cited(_ask(deployment["a"].url, "Hỗ trợ cho vay vốn đối với tổ liên kết ở Tây Ninh")) == {TN}
    # nothing of the index on the replicas' disks
    for name in ("a", "b"):
        d = deployment[name].data_dir
        assert not (d / "index" / "registry.json").exists() and not (d / "index" / "docs").exists()


def test_upload_on_a_is_cited_by_b_and_delete_on_b_is_gone_from_a(deployment):
    a, b = deployment["a"].url, deployment["b"].url
    assert not _cited(_ask(b)) - {TN}  # before the upload B knows only the seed document
    r = httpx.post(f"{a}/v1/documents", files={"file": (FILE_NAME, SMALL_DOC.encode("utf-8"), "text/plain")},
                   headers={"X-API-Key": ADMIN}, timeout=300)
    assert r.status_code == 201, r.text
    doc_id = r.json()["doc_id"]
    gen_a = _ready(a)["generation"]

    _wait_for(lambda: doc_id in _cited(_ask(b)), f"{doc_id} cited by B")
    assert _ready(b)["generation"] == gen_a and _ready(b)["documents"] == 2

    r = httpx.delete(f"{b}/v1/documents/{doc_id}", headers={"X-API-Key": ADMIN}, timeout=120)
    assert r.status_code == 200, r.text
    _wait_for(lambda: doc_id not in {d["doc_id"] for d in httpx.get(f"{a}/v1/documents", timeout=30).json()["documents"]},
              f"{doc_id} gone from A's documents")
    assert doc_id not in _cited(_ask(a)) | {c["doc_id"] for c in _ask(a)["related"]}
    assert _ready(a)["generation"] == _ready(b)["generation"] == gen_a + 1


def test_feedback_from_both_replicas_lands_in_one_table(deployment):
    from assistant.interfaces.feedback import FeedbackStore

    tag = uuid.uuid4().hex[:8]
    for name in ("a", "b"):
        r = httpx.post(f"{deployment[name].url}/v1/feedback", timeout=30, json={
            "question": QUESTION, "answer": "…", "citations": [], "rating": "up", "comment": f"{tag}-{name}"})
        assert r.status_code == 201, r.text
    db = FeedbackStore(deployment["database_url"])
    try:
        comments = {row.get("comment") for row in db.list()}
    finally:
        db.close()
    assert {f"{tag}-a", f"{tag}-b"} <= comments


def test_restarting_a_replica_changes_nothing_in_the_shared_collection(deployment):
    host, port = deployment["chroma"]
    coll = deployment["collection"]
    before = shared_snapshot(host, port, coll)
    gen = _ready(deployment["a"].url)["generation"]
    b = deployment["b"]
    b.stop()
    deployment["b"] = start_server(b.data_dir, deployment["logs"], deployment["env"])
    after = shared_snapshot(host, port, coll)
    assert after == before
    ready = _ready(deployment["b"].url)
    assert ready["generation"] == gen and ready["documents"] == 1
    assert _cited(_ask(deployment["b"].url, "Hỗ trợ cho vay vốn đối với tổ liên kết ở Tây Ninh")) == {TN}
    assert KH not in _cited(_ask(deployment["b"].url))
