"""Search-tree pages of the editor's Implement runs: written after each run, shown on request.

Each page (see `o1coder.tree_html`) goes to the user's cache, one file per document and
function, replaced by the next run: `$XDG_CACHE_HOME/o1coder/trees/` (else `~/.cache/...`).
`o1coder.showTree` asks the editor to open the latest page of a document in the browser
(`window/showDocument` with `external`), so every client gets it without code of its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from o1coder import tree_html
from o1coder.engine.types import SolveResult

log = logging.getLogger(__name__)


def pages_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "o1coder" / "trees"


def _digest(uri: str) -> str:
    return hashlib.sha256(uri.encode()).hexdigest()[:10]


def page_path(uri: str, qualname: str) -> Path:
    """A stable file name per (document, function): readable, and unique by a hash of the uri."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", uri.rsplit("/", 1)[-1])[:60] or "document"
    return pages_dir() / f"{stem}-{re.sub(r'[^A-Za-z0-9_.]+', '_', qualname)}-{_digest(uri)}.html"


def write(uri: str, qualname: str, result: SolveResult) -> Path | None:
    """The run's page, written; None (logged) when the cache cannot be written: a page is never
    worth failing the edit for."""
    path = page_path(uri, qualname)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(tree_html.render(result, title=f"o1coder: {qualname}"), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("cannot write the search tree page %s: %s", path, exc)
        return None
    return path


def latest(uri: str | None) -> Path | None:
    """The newest page of the document `uri` (of any document when None); None if there is none."""
    pattern = "*.html" if uri is None else f"*-{_digest(uri)}.html"
    pages = [p for p in pages_dir().glob(pattern) if p.is_file()]
    return max(pages, key=lambda p: p.stat().st_mtime, default=None)
