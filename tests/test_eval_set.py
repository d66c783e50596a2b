"""Validates evals/questions.jsonl against the bundled corpus (no index, no model)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import (
    DEFAULT_QUESTIONS,
    KINDS,
    MIN_PER_KIND,
    MIN_TOTAL,
    POINTS_OUTSIDE_MARKER,
    QUOTE_MAX_CHARS,
    QUOTE_MIN_CHARS,
    load_questions,
    parse_question,
)
from ingest.normalize import has_diacritics, normalize_text
from ingest.vocab import CORPUS_PROVINCES, PROVINCES


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", normalize_text(text)).strip()


@pytest.fixture(scope="module")
def questions():
    return load_questions(DEFAULT_QUESTIONS)


@pytest.fixture(scope="module")
def docs(corpus_dir: Path) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))}


def test_every_line_is_valid_json_with_the_schema():
    lines = [l for l in DEFAULT_QUESTIONS.read_text(encoding="utf-8").splitlines() if l.strip()]
    assert len(lines) >= MIN_TOTAL
    for i, line in enumerate(lines, 1):
        parse_question(json.loads(line), where=f"line {i}")  # raises on any schema error


def test_schema_errors_are_reported():
    good = {"id": "q1", "question": "Câu hỏi?", "kind": "typo", "doc_ids": [], "gold_quotes": [],
            "answer_points": [], "must_refuse": True, "notes": ""}
    parse_question(good)
    for bad in ({**good, "must_refuse": "yes"}, {k: v for k, v in good.items() if k != "notes"},
                {**good, "gold_quotes": [""]}, {**good, "history": [{"role": "bot", "content": "x"}]},
                {**good, "history": [""]}, {**good, "history": [3]}):
        with pytest.raises(ValueError):
            parse_question(bad)
    # earlier user questions may be given as plain strings
    plain = parse_question({**good, "history": ["Sở Tài chính phải làm gì?"]})
    assert plain.history == ({"role": "user", "content": "Sở Tài chính phải làm gì?"},)


def test_ids_unique_and_well_formed(questions):
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert all(re.fullmatch(r"q\d{3,}", i) for i in ids)
    texts = Counter((q.question, tuple(t["content"] for t in q.history)) for q in questions)
    assert all(n == 1 for n in texts.values()), [t for t, n in texts.items() if n > 1]


def test_kinds_and_minimum_counts(questions):
    counts = Counter(q.kind for q in questions)
    assert set(counts) <= set(KINDS), set(counts) - set(KINDS)
    short = {k: counts.get(k, 0) for k, n in MIN_PER_KIND.items() if counts.get(k, 0) < n}
    assert not short, f"kinds below their minimum: {short}"
    assert len(questions) >= MIN_TOTAL


def test_doc_ids_exist_and_quotes_are_exact_substrings(questions, docs):
    normalized = {d: _collapse(t) for d, t in docs.items()}
    for q in questions:
        assert set(q.doc_ids) <= set(docs), (q.id, q.doc_ids)
        for quote in q.gold_quotes:
            assert QUOTE_MIN_CHARS <= len(quote) <= QUOTE_MAX_CHARS, (q.id, len(quote), quote)
            raw_in = [d for d in q.doc_ids if quote in docs[d]]
            norm_in = [d for d in q.doc_ids if _collapse(quote) in normalized[d]]
            assert raw_in, f"{q.id}: quote is not a raw substring of {q.doc_ids}: {quote!r}"
            assert norm_in, f"{q.id}: quote is not a substring after normalize_text: {quote!r}"
        # every listed document is backed by at least one quote
        for d in q.doc_ids:
            assert any(quote in docs[d] for quote in q.gold_quotes), (q.id, d)


def test_answerable_and_refusal_fields_are_consistent(questions):
    for q in questions:
        if q.kind == "unanswerable":
            assert q.must_refuse and not q.doc_ids and not q.gold_quotes and not q.answer_points, q.id
        if q.must_refuse:
            assert not q.gold_quotes, f"{q.id}: a refusal should not have gold quotes"
        else:
            assert q.doc_ids and q.gold_quotes and q.answer_points, f"{q.id}: answerable question without gold"
        if q.kind == "prompt_injection":
            assert q.notes.strip(), f"{q.id}: expected behaviour belongs in notes"
    refusals = [q for q in questions if q.kind == "prompt_injection" and q.must_refuse]
    answerable = [q for q in questions if q.kind == "prompt_injection" and not q.must_refuse]
    assert refusals and answerable  # both behaviours are exercised


def test_answer_points_are_in_gold_quotes_unless_explained(questions, docs):
    for q in questions:
        joined = " || ".join(_collapse(x) for x in q.gold_quotes)
        for point in q.answer_points:
            if _collapse(point) in joined:
                continue
            assert POINTS_OUTSIDE_MARKER in q.notes, f"{q.id}: answer point {point!r} not in gold quotes and notes do not explain"
            assert any(_collapse(point) in _collapse(docs[d]) for d in q.doc_ids), f"{q.id}: {point!r} not in its documents"


def test_variants_point_at_existing_twins(questions):
    by_id = {q.id: q for q in questions}
    for q in questions:
        if q.variant_of is None:
            continue
        twin = by_id.get(q.variant_of)
        assert twin is not None, f"{q.id}: variant_of {q.variant_of} does not exist"
        assert twin.variant_of is None and twin.id != q.id
        assert twin.kind not in ("no_diacritics", "abbreviation", "typo")
        assert set(q.gold_quotes) == set(twin.gold_quotes), f"{q.id}: a variant must share its twin's gold quotes"
    nd = [q for q in questions if q.kind == "no_diacritics"]
    assert len(nd) >= MIN_PER_KIND["no_diacritics"]
    for q in nd:
        assert q.variant_of, f"{q.id}: no_diacritics questions need an accented twin"
        assert not has_diacritics(q.question), f"{q.id}: still has diacritics"
        assert has_diacritics(by_id[q.variant_of].question)


def test_follow_ups_have_history_and_provinces_are_canonical(questions):
    for q in questions:
        if q.kind == "follow_up":
            assert q.history and q.history[0]["role"] == "user" and q.last_user_turn(), q.id
            assert q.retrieval_query() != q.question
        else:
            assert not q.history, f"{q.id}: only follow_up questions carry history"
        for p in q.provinces:
            assert p in PROVINCES and p in CORPUS_PROVINCES, (q.id, p)
    multi = [q for q in questions if q.kind == "agency_duty_multi"]
    assert all(len(q.provinces) >= 2 for q in multi), [q.id for q in multi if len(q.provinces) < 2]
    # cross-document questions compare provinces or ask "which province ...?" (one may answer)
    cross = [q for q in questions if q.kind == "cross_document"]
    assert all(q.provinces for q in cross), [q.id for q in cross if not q.provinces]
    assert sum(len(q.provinces) >= 2 for q in cross) >= 8


def test_runner_rejects_missing_or_invalid_question_files(tmp_path, capsys):
    """Bad input to `htx eval retrieval` fails early with a Vietnamese message (no model loaded)."""
    import argparse

    from evals.retrieval import main
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    args = argparse.Namespace(questions=str(tmp_path / "none.jsonl"), json_out=None, check=True, no_baseline=True)
    assert main(settings, args) == 2
    assert "Không tìm thấy tệp câu hỏi" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "q1", "question": "x"}\n', encoding="utf-8")
    args.questions = str(bad)
    assert main(settings, args) == 2
    err = capsys.readouterr().err
    assert "không hợp lệ" in err and "missing field" in err


SHARED_LAWS = Path(__file__).resolve().parents[1].parent / "shared" / "alqac" / "corpus"


@pytest.mark.parametrize("name", ["holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
                                  "holdout9", "holdout10", "holdout11", "holdout12", "holdout13", "holdout14",
                                  "holdout15", "holdout16", "holdout17", "holdout18", "holdout19", "holdout20",
                                  "holdout21", "holdout22", "holdout23", "holdout24", "holdout25",
                                  "holdout26", "holdout27", "holdout28", "holdout29", "holdout30",
                                  "holdout31", "holdout32", "holdout33", "holdout34", "holdout35",
                                  "holdout36"])
def test_newer_independent_sets_quote_their_documents(name, docs):
    """The sets written without the code (holdout2 to holdout36): every line parses, unanswerable questions carry
    no gold, and every gold quote and answer point is in one of the question's documents (the
    bundled plans here; the ALQAC laws from ../shared, whose questions skip when it is absent)."""
    path = Path(__file__).resolve().parents[1] / "evals" / f"{name}.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len({r["id"] for r in rows}) == len(rows) >= 40
    laws = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SHARED_LAWS.glob("*.txt"))} if SHARED_LAWS.is_dir() else {}
    checked = 0
    for r in rows:
        parse_question(r)
        if r["must_refuse"]:
            assert not r["gold_quotes"] and not r["answer_points"], r["id"]
            continue
        texts = [_collapse(docs.get(d) or laws.get(d) or "") for d in r["doc_ids"]]
        if not any(texts):
            assert not laws, f"{r['id']}: documents {r['doc_ids']} not found"
            continue  # a law question, and ../shared/alqac is not present
        for quote in r["gold_quotes"]:
            assert any(_collapse(quote) in t for t in texts), (r["id"], quote)
        for point in r["answer_points"]:
            assert any(_collapse(point) in _collapse(q) for q in r["gold_quotes"]), (r["id"], point)
        checked += 1
    assert checked >= 15
