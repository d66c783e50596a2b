"""ALQAC 2023 retrieval benchmark (``../shared/alqac``): questions, passage matching, scores.

``passage_matches`` follows the dataset README exactly: over distinct word 3-grams (words =
``\\w+`` runs of the NFC, lower-cased text), a passage matches a gold article when at least 50%
of the passage's 3-grams occur in the article, or at least 50% of the article's 3-grams occur
in the passage. hit@k: a match among the first k passages; MRR over all returned passages.

Run on an index built from the corpus (``htx ingest --data-dir D ../shared/alqac/corpus``):

    python -m evals.alqac --data-dir D [--questions ../shared/alqac/questions_train.jsonl] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

_WORD = re.compile(r"\w+")
THRESHOLD = 0.5
K = 10


def load_questions(path: str | Path) -> list[dict]:
    """The ALQAC question format: one JSON object a line with ``id``, ``question`` and
    ``gold`` (a list of ``{"law", "article", "doc_id", "text"}``)."""
    out: list[dict] = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        q = json.loads(line)
        if not isinstance(q.get("question"), str) or not isinstance(q.get("gold"), list):
            raise ValueError(f"{path}:{n}: expected 'question' (string) and 'gold' (list)")
        out.append(q)
    return out


def trigrams(text: str) -> set[tuple[str, str, str]]:
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def passage_matches(passage: str, article: str) -> bool:
    p, a = trigrams(passage), trigrams(article)
    if not p or not a:
        return False
    shared = len(p & a)
    return shared >= THRESHOLD * len(p) or shared >= THRESHOLD * len(a)


def first_hit(texts: list[str], golds: list[str]) -> int | None:
    """1-based rank of the first passage that matches any gold article."""
    for rank, t in enumerate(texts, 1):
        if any(passage_matches(t, g) for g in golds):
            return rank
    return None


def score_retrieval(results: list[list[str]], questions: list[dict]) -> dict:
    """hit@1, hit@5 and MRR of ``results`` (the passage texts returned per question)."""
    if len(results) != len(questions):
        raise ValueError("one result list per question is needed")
    ranks = [first_hit(texts, [g["text"] for g in q["gold"]]) for texts, q in zip(results, questions)]
    n = len(ranks) or 1
    return {
        "questions": len(ranks),
        "hit@1": sum(1 for r in ranks if r == 1) / n,
        "hit@5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "mrr": sum(1.0 / r for r in ranks if r) / n,
        "ranks": ranks,
    }


def run(store, questions: list[dict], k: int = K) -> dict:
    results = [[h.chunk.text for h in store.search(q["question"], k=k)] for q in questions]
    return score_retrieval(results, questions)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="ALQAC retrieval: hit@1, hit@5, MRR")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--questions", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "alqac" / "questions_train.jsonl"))
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    from assistant.runtime import build_store
    from assistant.settings import Settings

    settings = Settings.from_env().with_data_dir(args.data_dir)
    store = build_store(settings)
    questions = load_questions(args.questions)
    res = run(store, questions)
    by_law: dict[str, list[int | None]] = {}
    for q, r in zip(questions, res["ranks"]):
        by_law.setdefault(q["gold"][0]["doc_id"], []).append(r)
    print(f"questions {res['questions']}  hit@1 {res['hit@1']:.3f}  hit@5 {res['hit@5']:.3f}  MRR {res['mrr']:.3f}")
    for law, rs in sorted(by_law.items()):
        print(f"  {law:28s} n={len(rs):3d} hit@1 {sum(r == 1 for r in rs) / len(rs):.2f}  misses@5 {sum(1 for r in rs if not r or r > 5)}")
    if args.json:
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
