"""ALQAC 2023 (../shared/alqac): the laws parse with the right type, title and scope, no chunk
spans two articles, and retrieval over two small laws finds the gold articles of their train
questions. The scoring helpers follow the dataset README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evals.alqac import load_questions, passage_matches, score_retrieval
from ingest.pipeline import ingest_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "alqac"
LAWS = ("luat-cu-tru", "luat-dien-anh")
TITLES = {"luat-cu-tru": ("Luật", "Luật Cư trú"), "luat-dien-anh": ("Luật", "Luật Điện ảnh"),
          "hien-phap": ("Hiến pháp", "Hiến pháp"), "bo-luat-dan-su": ("Bộ luật", "Bộ luật dân sự")}
# Measured: 28 of the 29 train questions on these two laws find their article in the top 5 of
# an index of the 8 laws the train split asks about (the miss, TL-5, asks about an amending
# article in other words); 0.9 leaves room for one or two more near misses.
MIN_TOP5 = 0.9


def _need_shared() -> Path:
    if not (SHARED / "corpus").is_dir():
        pytest.skip(f"ALQAC data not found at {SHARED} (../shared/alqac is not present)")
    return SHARED


def _articles(path: Path) -> dict[str, str]:
    """'7' -> 'Điều 7. ...' text, as the corpus file holds it."""
    out: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n")[1:]:
        m = re.match(r"Điều (\d+)\.", block)
        if m:
            out[m.group(1)] = block.strip()
    return out


def test_passage_matching_follows_the_readme():
    art = "Điều 3. Giải thích từ ngữ\n1. Trọng tài thương mại là phương thức giải quyết tranh chấp do các bên thỏa thuận."
    assert passage_matches("1. Trọng tài thương mại là phương thức giải quyết tranh chấp", art)  # a piece of it
    assert passage_matches(art + " " + " ".join(f"từ{i}" for i in range(10)), art)  # it, and a little more
    assert not passage_matches("Hợp đồng lữ hành phải được lập thành văn bản theo quy định", art)
    assert not passage_matches("", art)
    qs = [{"question": "q1", "gold": [{"text": art}]}, {"question": "q2", "gold": [{"text": art}]}]
    res = score_retrieval([["khác hẳn một đoạn văn", art], ["không có gì ở đây cả"]], qs)
    assert (res["hit@1"], res["hit@5"], res["mrr"]) == (0.0, 0.5, 0.25)


@pytest.mark.parametrize("doc_id", sorted(TITLES))
def test_laws_get_type_title_scope_and_one_article_per_chunk(doc_id):
    shared = _need_shared()
    path = shared / "corpus" / f"{doc_id}.txt"
    doc = ingest_file(path)
    m = doc.meta
    assert (m.doc_type, m.title) == TITLES[doc_id]
    assert (m.scope, m.province, m.issuer) == ("national", None, "Quốc hội")
    articles = _articles(path)
    seen = set()
    for c in doc.chunks:
        arts = [p for p in c.heading_path if p.startswith("Điều ")]
        assert len(arts) == 1, c.section
        n = re.match(r"Điều (\d+)", arts[0]).group(1)
        seen.add(n)
        assert len(re.findall(r"(?m)^Điều \d+\.", c.text)) <= 1
        # The chunk's text lies inside its own article.
        assert passage_matches(c.text, articles[n]), (c.section, c.text[:80])
    assert seen == set(articles)


def test_questions_on_two_laws_find_their_article(tmp_path_factory):
    shared = _need_shared()
    from conftest import make_settings

    from assistant.runtime import build_store, ingest_paths

    d = tmp_path_factory.mktemp("alqac")
    settings = make_settings(d)
    store = build_store(settings)
    results = ingest_paths(store, [shared / "corpus" / f"{law}.txt" for law in LAWS], settings)
    assert all(r.ok for r in results), results
    questions = [q for q in load_questions(shared / "questions_train.jsonl") if q["gold"][0]["doc_id"] in LAWS]
    assert len(questions) >= 20
    res = score_retrieval([[h.chunk.text for h in store.search(q["question"], k=10)] for q in questions], questions)
    assert res["hit@5"] >= MIN_TOP5, res
