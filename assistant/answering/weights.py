"""The fitted numbers of the answer layer, in one small JSON file (``weights.json`` beside this
module, or ``HTX_WEIGHTS`` / ``<data_dir>/weights.json``), written by ``htx eval fit``.

- ``unit``: logistic-regression weights of ``select.FEATURES`` (is this unit a gold passage?);
- ``decide``: logistic-regression weights of ``decide.FEATURES`` (is the question answerable
  from the documents?);
- ``refuse_below`` / ``caveat_below``: thresholds on that probability, fitted so that a false
  refusal costs several missed refusals (see ``evals/fit.py``);
- ``keep_ratio``: a unit joins the answer when its score is at least this share of the best.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger("htx.weights")

DEFAULT_PATH = Path(__file__).resolve().parent / "weights.json"


@dataclass(frozen=True)
class Weights:
    unit: tuple[float, ...]
    decide: tuple[float, ...]
    refuse_below: float = 0.2
    caveat_below: float = 0.5
    keep_ratio: float = 0.5
    fitted_on: dict = field(default_factory=dict)  # provenance: command, question files, sizes

    def to_json(self) -> dict:
        d = asdict(self)
        d["unit"] = list(self.unit)
        d["decide"] = list(self.decide)
        return d

    @classmethod
    def from_json(cls, data: dict) -> "Weights":
        return cls(unit=tuple(float(x) for x in data["unit"]), decide=tuple(float(x) for x in data["decide"]),
                   refuse_below=float(data.get("refuse_below", 0.2)), caveat_below=float(data.get("caveat_below", 0.5)),
                   keep_ratio=float(data.get("keep_ratio", 0.5)), fitted_on=dict(data.get("fitted_on") or {}))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def default_weights() -> Weights:
    """Starting values before any fit (used only when no weights file exists)."""
    from assistant.answering.decide import FEATURES as DF
    from assistant.answering.select import FEATURES as UF

    unit = {"bias": -4.0, "ret": 1.0, "rank": 1.0, "dense": 0.0, "cov": 3.0, "ctx": 1.0, "pairs": 2.0,
            "intent": 1.0, "agency": 1.0, "first": 0.3, "short": -1.0, "heading": -1.5, "neighbour": -0.5,
            "cov_rel": 1.0, "pairs_rel": 1.0, "local": 1.0, "amount": 1.0}
    decide = {"bias": -3.0, "top_p": 3.0, "top_dense": 0.0, "cov_best": 3.0, "oov": -3.0, "pair_oov": -1.0, "num_missing": -1.0,
              "mean_top3": 1.0, "rare_hit": 1.0, "pair_best": 1.0,
              "word_absent": -1.0}
    return Weights(unit=tuple(unit[f] for f in UF), decide=tuple(decide[f] for f in DF))


def load_weights(path: str | Path | None = None, strict: bool = True) -> Weights:
    """The weights in ``path`` (default: the packaged file). Weights fitted for another set of
    features are an error, except with ``strict=False`` (``htx eval fit``, which replaces them):
    then the starting values are used, with a warning."""
    p = Path(path) if path else DEFAULT_PATH
    if not p.exists():
        return default_weights()
    w = Weights.from_json(json.loads(p.read_text(encoding="utf-8")))
    from assistant.answering.decide import FEATURES as DF
    from assistant.answering.select import FEATURES as UF

    if len(w.unit) != len(UF) or len(w.decide) != len(DF):
        # weights fitted for other features would be read silently out of step
        if not strict:
            log.warning("weights file %s was fitted for other features; using starting values", p)
            return default_weights()
        raise ValueError(f"weights file {p} holds {len(w.unit)} unit / {len(w.decide)} decision weights, "
                         f"the answer layer has {len(UF)} / {len(DF)} features: refit with `htx eval fit`")
    return w
