"""Server logging: `window/logMessage` to the editor and a rotating file in the user log dir.

Only the `o1coder` logger goes to the editor (pygls logs every message it sends, which must
never loop back into another message); the file also gets pygls' warnings.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lsprotocol import types

    from o1coder.lsp.server import O1CoderServer

LEVELS = ("debug", "info", "warning", "error")
LOG_FILE_NAME = "server.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def default_log_file() -> Path:
    import platformdirs

    return Path(platformdirs.user_log_path("o1coder")) / LOG_FILE_NAME


def message_type(levelno: int) -> types.MessageType:
    from lsprotocol import types  # imported here so `o1coder --help` does not pay for it

    if levelno >= logging.ERROR:
        return types.MessageType.Error
    if levelno >= logging.WARNING:
        return types.MessageType.Warning
    if levelno >= logging.INFO:
        return types.MessageType.Info
    return types.MessageType.Log


class LspLogHandler(logging.Handler):
    """Forwards records to the client as window/logMessage, from any thread."""

    def __init__(self, server: O1CoderServer, level: int = logging.NOTSET):
        super().__init__(level)
        self.server = server
        self._local = threading.local()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            from lsprotocol import types

            params = types.LogMessageParams(type=message_type(record.levelno), message=self.format(record))
            self.server.call_soon(self.server.window_log_message, params)
        except Exception:  # never let logging break the server
            pass
        finally:
            self._local.busy = False


def setup_logging(level: str = "info", log_file: Path | None = None) -> Path | None:
    """Configure the `o1coder` logger and the rotating file; returns the file (None if it cannot be written)."""
    numeric = getattr(logging, level.upper(), logging.INFO)
    ours = logging.getLogger("o1coder")
    ours.setLevel(numeric)
    ours.propagate = False
    for handler in list(ours.handlers):
        if isinstance(handler, logging.handlers.RotatingFileHandler):
            ours.removeHandler(handler)
            handler.close()
    path = log_file or default_log_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        logging.getLogger("o1coder").warning("cannot write the log file %s: %s", path, exc)
        return None
    file_handler.setFormatter(logging.Formatter(FORMAT))
    ours.addHandler(file_handler)
    pygls = logging.getLogger("pygls")
    pygls.setLevel(logging.WARNING)
    pygls.addHandler(file_handler)
    pygls.propagate = False
    return path


def attach_client(server: O1CoderServer, level: str = "info") -> LspLogHandler:
    """Send `o1coder` records at `level` and above to the editor."""
    ours = logging.getLogger("o1coder")
    for handler in list(ours.handlers):
        if isinstance(handler, LspLogHandler):
            ours.removeHandler(handler)
    handler = LspLogHandler(server, getattr(logging, level.upper(), logging.INFO))
    ours.addHandler(handler)
    return handler
