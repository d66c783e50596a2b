"""The corpus view prepares each chunk's question-independent unit features once per index
version and carries them over for chunks that did not change (assistant.answering.corpus), so
answering reads only what retrieval returned. Documents written for these tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assistant.answering.corpus import build_snapshot, term_seq
from assistant.answering.select import unit_infos
from index.text import expand_abbreviations, fast_fold, fold_expanded
from ingest.pipeline import ingest_file

PLAN = (
    "ỦY BAN NHÂN DÂN TỈNH NINH THUẬN\nSố: 14/KH-UBND\nNinh Thuận, ngày 2 tháng 4 năm 2024\n\nKẾ HOẠCH\n"
    "Phát triển kinh tế tập thể năm 2024\n\nI. NHIỆM VỤ\n"
    "1. Sở KH&ĐT\n- Hướng dẫn HTX đăng ký thay đổi vốn điều lệ. Tổng hợp báo cáo gửi UBND tỉnh trước ngày 15/12.\n"
    "2. Sở Nông nghiệp và PTNT\n- Hỗ trợ THT và HTX xây dựng chuỗi giá trị sản phẩm muối.\n")


def _doc(tmp_path: Path):
    path = tmp_path / "plan.txt"
    path.write_text(PLAN, encoding="utf-8")
    return ingest_file(path)


def test_features_are_prepared_once_and_carried_over(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    metas = {doc.meta.doc_id: doc.meta}
    calls: list[str] = []

    def prepare(chunk):
        calls.append(chunk.chunk_id)
        return unit_infos(chunk)

    first = build_snapshot(("v1",), doc.chunks, metas, prepare)
    assert first.prepared_new == len(doc.chunks) == len(calls)
    c0 = doc.chunks[0]
    # what the select stage reads is what unit_infos computes, without computing it again
    assert first.chunk_features(c0, lambda _c: (_ for _ in ()).throw(AssertionError("recomputed")))
    assert [i.unit.text for i in first.chunk_features(c0, unit_infos)[0]] == [i.unit.text for i in unit_infos(c0)[0]]

    # a new version: an unchanged chunk (even as a new but equal object) is carried over,
    # an edited one is prepared again
    edited = replace(doc.chunks[-1], text=doc.chunks[-1].text + " Thời hạn hoàn thành trong quý IV.")
    chunks2 = [replace(c) for c in doc.chunks[:-1]] + [edited]
    calls.clear()
    second = build_snapshot(("v2",), chunks2, metas, prepare, previous=first)
    assert calls == [edited.chunk_id] and second.prepared_new == 1
    texts = " ".join(i.unit.text for i in second.chunk_features(edited, unit_infos)[0])
    assert "quý IV" in texts


def test_a_view_built_without_prepare_still_gives_features(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    snap = build_snapshot(("v",), doc.chunks, {doc.meta.doc_id: doc.meta})
    assert snap.prepared_new == 0 and not snap.prepared
    infos, _ = snap.chunk_features(doc.chunks[0], unit_infos)
    assert infos == unit_infos(doc.chunks[0])[0]


def test_fold_expanded_is_the_fold_of_the_expanded_text(tmp_path: Path) -> None:
    doc = _doc(tmp_path)
    texts = [c.text for c in doc.chunks] + ["Sở KH & ĐT và UBND huyện", "htx, tht", "không viết tắt"]
    for t in texts:
        assert fold_expanded(t) == fast_fold(expand_abbreviations(t))
    assert "hop tac xa" in " ".join(term_seq("HTX muốn vay vốn"))
