"""Optional manifest: per-document metadata overrides, kept next to the corpus.

Format (JSON): ``{"<doc_id>": {"title": "...", "province": "...", "short_title": "...", ...}}``.
A missing file means no overrides; a malformed one is logged and ignored (ingestion goes on
with the metadata found in the text).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.types import DocumentMeta

log = logging.getLogger("htx.ingest")

OVERRIDABLE = ("title", "short_title", "doc_type", "number", "date", "issuer", "province")


def load_manifest(path: Path | str | None) -> dict[str, dict[str, Any]]:
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        log.warning("manifest %s ignored: %s", p, e)
        return {}
    if not isinstance(data, dict):
        log.warning("manifest %s ignored: top level is %s, expected an object", p, type(data).__name__)
        return {}
    out: dict[str, dict[str, Any]] = {}
    for doc_id, fields in data.items():
        if not isinstance(fields, dict):
            log.warning("manifest %s: entry %r ignored (not an object)", p, doc_id)
            continue
        unknown = set(fields) - set(OVERRIDABLE)
        if unknown:
            log.warning("manifest %s: entry %r: unknown fields ignored: %s", p, doc_id, sorted(unknown))
        out[str(doc_id)] = {k: v for k, v in fields.items() if k in OVERRIDABLE and (v is None or isinstance(v, str))}
    return out


def apply_manifest(meta: DocumentMeta, manifest: dict[str, dict[str, Any]] | None) -> DocumentMeta:
    """Manifest fields override what was found in the text; the short title is rebuilt from
    the overridden fields unless the manifest gives one."""
    if not manifest or meta.doc_id not in manifest:
        return meta
    fields = {k: v for k, v in manifest[meta.doc_id].items() if k in OVERRIDABLE}
    if not fields:
        return meta
    new = replace(meta, **fields)
    if "short_title" not in fields:
        from ingest.metadata import with_short_title

        new = with_short_title(new)
    return new
