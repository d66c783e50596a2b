"""Fusing the lexical and dense candidate lists into one ranking with scores in [0, 1].

- ``weighted``: min-max normalise each retriever's scores over its candidates, then
  ``w * lexical + (1 - w) * dense`` (a candidate missing from one list gets 0 there).
- ``rrf``: reciprocal-rank fusion ``w / (k + rank_lex) + (1 - w) / (k + rank_dense)``, divided
  by its maximum ``1 / (k + 1)`` so that it is in [0, 1] too.
"""

from __future__ import annotations

from typing import Mapping

RRF_K = 60
FUSIONS = ("weighted", "rrf")


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi - lo <= 1e-12:
        return {k: (1.0 if hi > 0 else 0.0) for k in scores}
    return {k: (v - lo) / (hi - lo) for k, v in scores.items()}


def weighted_fusion(lexical: Mapping[str, float], dense: Mapping[str, float], lexical_weight: float) -> dict[str, float]:
    w = min(1.0, max(0.0, float(lexical_weight)))
    lex_n, den_n = minmax(lexical), minmax(dense)
    ids = set(lex_n) | set(den_n)
    return {i: w * lex_n.get(i, 0.0) + (1 - w) * den_n.get(i, 0.0) for i in ids}


def rrf_fusion(lexical: Mapping[str, float], dense: Mapping[str, float], lexical_weight: float = 0.5,
               k: int = RRF_K) -> dict[str, float]:
    w = min(1.0, max(0.0, float(lexical_weight)))
    out: dict[str, float] = {}
    for weight, scores in ((w, lexical), (1 - w, dense)):
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        for rank, (i, _) in enumerate(ranked, 1):
            out[i] = out.get(i, 0.0) + weight / (k + rank)
    top = 1.0 / (k + 1)
    return {i: min(1.0, s / top) for i, s in out.items()}


def fuse(method: str, lexical: Mapping[str, float], dense: Mapping[str, float], lexical_weight: float) -> dict[str, float]:
    if method == "rrf":
        return rrf_fusion(lexical, dense, lexical_weight)
    if method == "weighted":
        return weighted_fusion(lexical, dense, lexical_weight)
    raise ValueError(f"unknown fusion {method!r} (expected one of {FUSIONS})")
