"""Fit the answer layer's few numbers from data (``htx eval fit``), and hold them out.

What is fitted (all written to ``assistant/answering/weights.json``, see
``assistant/answering/weights.py``):

1. unit weights: logistic regression of "this candidate unit shares a passage with a gold
   quote" (``select.unit_label``) on ``select.FEATURES``; every question weighs the same, half
   for its gold units and half for the others (a question whose gold is a whole article and one
   whose gold is one sentence teach the ranking equally), L2 penalty ``L2``;
2. decision weights: logistic regression of "the question is answerable" on
   ``decide.FEATURES`` computed with the fitted unit weights;
3. thresholds: ``refuse_below`` minimises ``FALSE_REFUSAL_COST`` × false refusals + missed
   refusals on the training questions; ``caveat_below`` minimises their plain sum (never below
   ``refuse_below``); both on out-of-fold probabilities (each row scored by a decision model
   fitted without its document's rows, ``_out_of_fold``), and with the counterfactual
   negatives weighing, together, as much as the real unanswerable questions
   (``_threshold_weights``);
4. ``keep_ratio``: from ``KEEP_RATIOS``, the one that maximises citation recall + answer-point
   coverage − ``LENGTH_COST`` × (median answer length over the 1,200-character budget, as a
   share of it) on the training questions; a stricter ratio replaces a more inclusive one only
   when it gains more than one question's worth (1 / the number of answerable questions).

Held out: ``leave_one_document_out`` fits on every question that does not touch a document
and scores the questions of that document with those weights, for every document (each
question is scored once, in the fold of its first gold document; questions without a gold
document are spread over the folds); ``k_fold`` does the same split by question.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger("htx.evals.fit")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assistant" / "answering" / "weights.json"
L2 = 0.1
FALSE_REFUSAL_COST = 20.0
LENGTH_COST = 0.15
KEEP_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
NEGATIVE_WEIGHT = 0.5
BUDGET_CHARS = 1400  # the default answer budget (compose.MAX_CHARS): only a longer median costs


def logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, l2: float = L2, iters: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (the bias, column 0, unpenalised)."""
    n, d = X.shape
    w = np.ones(n) if w is None else w
    beta = np.zeros(d)
    pen = np.full(d, l2)
    pen[0] = 1e-6
    for _ in range(iters):
        z = np.clip(X @ beta, -30, 30)
        p = 1.0 / (1.0 + np.exp(-z))
        g = X.T @ (w * (p - y)) + pen * beta
        H = (X * (w * p * (1 - p))[:, None]).T @ X + np.diag(pen)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-7:
            break
    return beta


def _gold_keys(q) -> list[str]:
    from evals.metrics import match_key

    return [match_key(g) for g in q.gold_quotes]


def fit_units(prepared: Sequence) -> tuple[float, ...]:
    from assistant.answering.select import unit_label

    X, y, w = [], [], []
    for p in prepared:
        if p.q.must_refuse or not p.q.gold_quotes or not p.run.cands:
            continue
        keys = _gold_keys(p.q)
        labels = [1.0 if unit_label(c.unit.text, keys) else 0.0 for c in p.run.cands]
        if not any(labels):
            continue  # retrieval missed: nothing to learn about ranking units
        n_pos = sum(labels)
        n_neg = len(labels) - n_pos
        for c, lab in zip(p.run.cands, labels):
            X.append(c.features)
            y.append(lab)
            # every question weighs the same, half for its gold units and half for the others
            w.append(0.5 / n_pos if lab else (0.5 / n_neg if n_neg else 0.0))
    if not X:
        raise ValueError("no training units (no answerable question whose gold passage was retrieved)")
    return tuple(float(b) for b in logistic(np.array(X), np.array(y), np.array(w)))


def counterfactual_negatives(answerer, prepared: Sequence) -> list:
    """For every answerable question, the same question asked of every document but its gold
    ones (a document filter): a question the remaining documents should not answer. These
    give the decision model the unanswerable examples that hand-written sets lack (weight
    ``NEGATIVE_WEIGHT``: a few of them are answered by another document after all)."""
    from dataclasses import replace

    from index.types import SearchFilters

    from assistant.answering.types import Turn
    from evals.run import Prepared

    all_docs = {d.meta.doc_id for d in answerer.store.documents()}
    out = []
    for p in prepared:
        if p.q.must_refuse or not p.q.doc_ids or p.q.extra.get("negative"):
            continue
        others = tuple(sorted(all_docs - set(p.q.doc_ids)))
        if not others:
            continue
        history = [Turn(t["role"], t["content"]) for t in p.q.history] or None
        run = answerer.prepare(p.q.question, history=history, filters=SearchFilters(doc_ids=others))
        q = replace(p.q, id=p.q.id + ":neg", must_refuse=True, gold_quotes=(), answer_points=(),
                    extra={**p.q.extra, "negative": True})
        out.append(Prepared(q, run, p.positions))
    return out


def _decide_rows(answerer, prepared: Sequence, unit_w):
    from assistant.answering.amounts import check_read as amount_check, question_forms
    from assistant.answering.decide import FEATURES, fact_reason, features, province_unanswerable
    from assistant.answering.scope import check
    from assistant.answering.select import rescore

    rows = []
    for p in prepared:
        run = p.run
        if not run.query.typed or province_unanswerable(run.query, run.snap, run.missing_provinces):
            continue  # decided by facts, not by the model
        facts = check(run.query, run.snap, run.scope_docs)
        if fact_reason(facts, amount_check(question_forms(run.query), run.cands, facts.all_words), run.query,
                       run.missing_documents):
            continue  # refused by a fact (an amount no passage read states, an agency no document names)
        cands = rescore(run.cands, unit_w)
        top_dense = max((h.dense_score for h in (run.searches[0].hits if run.searches else ())), default=0.0)
        f = features(run.query, cands, top_dense, run.snap, facts)
        negative = bool(p.q.extra.get("negative"))
        group = p.q.doc_ids[0] if p.q.doc_ids else f"none:{len(rows) % 5}"
        rows.append(([f[k] for k in FEATURES], 0.0 if p.q.must_refuse else 1.0,
                     NEGATIVE_WEIGHT if negative else 1.0, negative, group))
    return rows


def _out_of_fold(X: np.ndarray, y: np.ndarray, sw: np.ndarray, groups: Sequence[str], full: np.ndarray) -> np.ndarray:
    """Decision probabilities of each row from a model fitted without its document's rows
    (the thresholds are placed where new documents will fall, not where the training rows,
    which the model has seen, do). Rows of a group whose complement has one class only keep
    the full model's probability."""
    out = 1.0 / (1.0 + np.exp(-np.clip(X @ full, -30, 30)))
    g = np.array(groups)
    for name in sorted(set(groups)):
        test = g == name
        train = ~test
        if len(set(y[train].tolist())) < 2:
            continue
        beta = logistic(X[train], y[train], sw[train])
        out[test] = 1.0 / (1.0 + np.exp(-np.clip(X[test] @ beta, -30, 30)))
    return out


def _threshold_weights(rows) -> np.ndarray:
    """Row weights for placing the thresholds. The counterfactual negatives teach the decision
    model what an unanswered question looks like, but there are as many of them as answerable
    questions; thresholds set at that balance would refuse as if every other question were
    unanswerable. They are scaled so that together they weigh as much as the real unanswerable
    questions of the training set (when it has any): the thresholds see the class balance of
    real questions."""
    w = np.array([r[2] for r in rows], dtype=float)
    cf = np.array([r[3] for r in rows], dtype=bool)
    real_neg = sum(1 for r in rows if r[1] == 0.0 and not r[3])
    if real_neg and cf.any():
        w[cf] = real_neg / cf.sum()
    return w


def _threshold(probs: np.ndarray, y: np.ndarray, fr_cost: float, w: np.ndarray | None = None) -> float:
    w = np.ones(len(y)) if w is None else w
    cands = np.unique(np.concatenate([[0.0], probs, [1.0]]))
    best_t, best_c = 0.0, float("inf")
    for a, b in zip(cands, cands[1:]):
        t = (a + b) / 2
        fr = np.sum(w * ((probs < t) & (y == 1)))
        mr = np.sum(w * ((probs >= t) & (y == 0)))
        c = fr_cost * fr + mr
        if c < best_c - 1e-9:
            best_t, best_c = t, c
    return float(best_t)


def fit(answerer, prepared: Sequence, sources: Sequence[str] = (), negatives: Sequence | None = None):
    """Fit every number of the answer layer on ``prepared`` (see the module docstring)."""
    from dataclasses import replace

    from assistant.answering.weights import Weights, default_weights
    from evals.run import score, summarize

    base = default_weights()
    unit_w = replace(base, unit=fit_units(prepared))
    if negatives is None:
        negatives = counterfactual_negatives(answerer, prepared)
    rows = _decide_rows(answerer, list(prepared) + list(negatives), unit_w)
    X = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    sw = np.array([r[2] for r in rows])
    if len(set(y.tolist())) < 2:
        decide_w = base.decide  # one class only: keep the starting values
    else:
        decide_w = tuple(float(b) for b in logistic(X, y, sw))
    probs = _out_of_fold(X, y, sw, [r[4] for r in rows], np.array(decide_w))
    tw = _threshold_weights(rows)
    refuse = _threshold(probs, y, FALSE_REFUSAL_COST, tw) if len(set(y.tolist())) == 2 else 0.0
    caveat = max(refuse, _threshold(probs, y, 1.0, tw)) if len(set(y.tolist())) == 2 else 0.5
    weights = Weights(unit=unit_w.unit, decide=decide_w, refuse_below=refuse, caveat_below=caveat)
    answerable = [p for p in prepared if not p.q.must_refuse and p.q.gold_quotes]
    best, best_obj = weights.keep_ratio, -1e9
    # A stricter ratio (fewer points) must win by more than one question's worth: differences
    # smaller than that are noise of the training set, and a point left out is a fact the user
    # does not see (the answer budget caps the length either way).
    margin = 1.0 / max(1, len(answerable))
    for ratio in KEEP_RATIOS:
        w = replace(weights, keep_ratio=ratio)
        s = summarize([score(answerer, p, w) for p in answerable])
        obj = (s["answer_citation_recall"] or 0) + (s["answer_point_coverage"] or s["answer_citation_recall"] or 0) \
            - LENGTH_COST * max(0.0, s["chars_p50"] - BUDGET_CHARS) / BUDGET_CHARS
        if obj > best_obj + margin:
            best, best_obj = ratio, obj
    return replace(weights, keep_ratio=best, fitted_on={
        "command": "htx eval fit " + " ".join(f"--questions {s}" for s in sources),
        "questions": len(prepared),
        "counterfactual_negatives": len(negatives),
        "units_positive_questions": sum(1 for p in answerable),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "embedder": str(getattr(getattr(answerer.store, "embedder", None), "name", "")),
        "index_documents": sorted(d.meta.doc_id for d in answerer.store.documents()),
    })


def _folds_by_document(prepared: Sequence) -> dict[str, list]:
    folds: dict[str, list] = {}
    for p in prepared:
        if p.q.doc_ids:
            folds.setdefault(p.q.doc_ids[0], []).append(p)
    docs = sorted(folds)
    spare = [p for p in prepared if not p.q.doc_ids]
    for i, p in enumerate(spare):
        folds[docs[i % len(docs)]].append(p)
    return folds


def leave_one_document_out(answerer, prepared: Sequence, sources: Sequence[str] = ()):
    from evals.run import score

    negs = counterfactual_negatives(answerer, prepared)
    out = []
    for doc, test in sorted(_folds_by_document(prepared).items()):
        ids = {id(p) for p in test}
        train = [p for p in prepared if id(p) not in ids and doc not in p.q.doc_ids]
        keep = {p.q.id for p in train}
        w = fit(answerer, train, sources, [n for n in negs if n.q.id[:-4] in keep])
        log.info("lodo %s: %d train, %d test", doc, len(train), len(test))
        out.extend(score(answerer, p, w) for p in test)
    return out


def k_fold(answerer, prepared: Sequence, k: int = 5, sources: Sequence[str] = ()):
    from evals.run import score

    negs = counterfactual_negatives(answerer, prepared)
    out = []
    for i in range(k):
        test = [p for j, p in enumerate(prepared) if j % k == i]
        train = [p for j, p in enumerate(prepared) if j % k != i]
        keep = {p.q.id for p in train}
        w = fit(answerer, train, sources, [n for n in negs if n.q.id[:-4] in keep])
        out.extend(score(answerer, p, w) for p in test)
    return out
