"""Parse-only ingestion statistics: ``python -m ingest.stats data/corpus``.

Prints, per document, the chunk count and the smallest / median / largest chunk in e5 tokens
(context header included), and the total parse time (no embedding, no index).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from ingest.pipeline import ingest_file
from ingest.tokens import count_tokens


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    folder = Path(args[0] if args else "data/corpus")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".txt", ".md", ".docx", ".pdf"))
    count_tokens("warm-up")  # load the tokenizer outside the timing
    t0 = time.perf_counter()
    docs = [ingest_file(p) for p in files]
    elapsed = time.perf_counter() - t0
    all_tokens: list[int] = []
    for doc in docs:
        toks = [count_tokens(c.context_text()) for c in doc.chunks]
        all_tokens += toks
        rows = sum(c.kind == "table_row" for c in doc.chunks)
        print(f"{doc.meta.doc_id}  {doc.meta.short_title:<60} chunks={len(doc.chunks):3d} (table rows {rows:2d})"
              f"  tokens min/median/max = {min(toks)}/{statistics.median(toks):.0f}/{max(toks)}")
    print(f"all: {len(all_tokens)} chunks, tokens min/median/max = {min(all_tokens)}/"
          f"{statistics.median(all_tokens):.0f}/{max(all_tokens)}; parse time {elapsed:.2f} s for {len(docs)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
