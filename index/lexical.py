"""The lexical side of the index: BM25 (bm25s) over Vietnamese syllable token streams.

Documents are ``Chunk.context_text()`` (title, province, heading path, body) analysed by
:func:`index.text.analyze`. The index is immutable; the store builds a new one when the set
of chunks changes.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from index.text import analyze

log = logging.getLogger("htx.index.lexical")

K1 = 1.2
B = 0.3  # low length normalisation: long chunks carry headings and lists (tuned on evals/)


class LexicalIndex:
    def __init__(self, texts: Sequence[str], k1: float = K1, b: float = B):
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG
        self.size = len(texts)
        self._bm25 = None
        if self.size:
            # Token ids are built document by document, so the token strings of the whole corpus
            # never sit in memory at once (20k chunks: ~600 MB of strings otherwise).
            vocab: dict[str, int] = {"": 0}
            ids_per_doc: list[list[int]] = []
            for t in texts:
                ids_per_doc.append([vocab.setdefault(tok, len(vocab)) for tok in analyze(t)] or [0])
            bm = bm25s.BM25(k1=k1, b=b, method="lucene")
            bm.index((ids_per_doc, vocab), show_progress=False)
            self._bm25 = bm

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every document (array aligned with the texts given at build time)."""
        if not self.size:
            return np.zeros(0, dtype=np.float32)
        ids = self._bm25.get_tokens_ids([t for t in query_tokens if t])
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def known(self, token: str) -> bool:
        return bool(self._bm25) and token in self._bm25.vocab_dict
