"""o1coder.cancel, o1coder.showModels and o1coder.showTree: the commands that run no model work
of their own.

The work commands are in work_runner.py (the event loop) and work.py (the worker); their
registry is work_commands.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path

from o1coder.lsp import tree_pages

if TYPE_CHECKING:
    from o1coder.lsp.server import O1CoderServer


async def cancel(ls: O1CoderServer, uri: str | None) -> dict[str, Any]:
    """o1coder.cancel [uri]: stop the work on a document (every document without one).

    Answers once the worker has really stopped (or after 5 s), with how long each took.
    """
    jobs = ls.jobs.cancel(uri, reason="cancelled by o1coder.cancel")
    await ls.jobs.wait_stopped(jobs)
    return {
        "cancelled": [
            {"uri": j.uri, "title": j.title, "job": j.id, "stopMs": j.stop_ms, "wasRunning": j.was_running}
            for j in jobs
        ]
    }


def show_models(ls: O1CoderServer) -> dict[str, Any]:
    """Each role's model name, path, whether it is loaded, and why it cannot be used."""
    from o1coder.models.pool import ModelPool

    pool = ls.engine.pool if ls.engine is not None else ModelPool(ls.settings.models)
    roles = [
        {"role": s.role, "model": s.model, "path": s.path, "loaded": s.loaded, "error": s.error} for s in pool.status()
    ]
    return {"roles": roles, "busy": ls.jobs.busy()}


async def show_tree(ls: O1CoderServer, uri: str | None) -> dict[str, Any]:
    """o1coder.showTree [uri]: open the search tree page of the last Implement on the document (of
    any document without one) in the user's browser, through the editor (`window/showDocument`).

    Answers with the page's path either way, so a client without showDocument can open it.
    """
    page = tree_pages.latest(uri)
    if page is None:
        where = "this document" if uri else "any document"
        return {"shown": False, "page": None, "reason": f"no search has run on {where} yet: run Implement with search"}
    window = ls.client_capabilities.window if ls.client_capabilities else None
    if window is None or not window.show_document or not window.show_document.support:
        return {"shown": False, "page": str(page), "reason": "the editor cannot open documents for the server"}
    shown = await ls.window_show_document_async(
        types.ShowDocumentParams(uri=from_fs_path(str(page)) or str(page), external=True)
    )
    return {"shown": bool(shown.success), "page": str(page)}
