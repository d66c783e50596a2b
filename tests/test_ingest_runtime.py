"""Ingestion through the runtime entry point (`assistant.runtime.ingest_paths`) into a real
index: good files are indexed with their chunks, bad ones are reported in Vietnamese and
leave the index as it was."""

from __future__ import annotations

import shutil

from conftest import make_settings
from ingest.encoding import encode_tcvn3
from ingest.pipeline import ingest_file


def test_ingest_paths_indexes_good_files_and_reports_bad_ones(tmp_path, corpus_dir):
    from assistant.runtime import build_store, ingest_paths

    data = tmp_path / "data"
    (data / "corpus").mkdir(parents=True)
    (src,) = sorted(corpus_dir.glob("004_*.txt"))
    good = data / "corpus" / src.name
    shutil.copy(src, good)
    bad = data / "corpus" / "zz_tcvn3.txt"
    bad.write_bytes(encode_tcvn3("Ủy ban nhân dân tỉnh chỉ thị các sở, ban, ngành đẩy mạnh phát triển hợp tác xã kiểu mới."))
    empty = data / "corpus" / "zz_empty.md"
    empty.write_bytes(b"")

    settings = make_settings(data)
    store = build_store(settings)
    results = {r.path.rsplit("/", 1)[-1]: r for r in ingest_paths(store, [settings.corpus_dir], settings)}

    ok = results[src.name]
    assert ok.ok and ok.changed and ok.doc_id == src.stem
    assert ok.chunks == len(ingest_file(good).chunks)
    assert (results["zz_tcvn3.txt"].ok, results["zz_tcvn3.txt"].error_code) == (False, "legacy_encoding")
    assert "TCVN3" in results["zz_tcvn3.txt"].message_vi
    assert (results["zz_empty.md"].ok, results["zz_empty.md"].error_code) == (False, "empty_file")
    assert [d.meta.doc_id for d in store.documents()] == [src.stem]
    indexed = store.chunks(src.stem)
    assert [c.chunk_id for c in indexed] == [c.chunk_id for c in ingest_file(good).chunks]
    assert all(c.province == "Tây Ninh" for c in indexed)

    again = ingest_paths(store, [good], settings)
    assert again[0].ok and not again[0].changed  # unchanged text: same ids, nothing re-indexed
