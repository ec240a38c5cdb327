"""Keeping session ids and tab tokens (bearer secrets) out of every log line.

The HTTP API's paths carry session ids, so access logs would print them. The
filter here replaces them with `[redacted]`: current ids (`cs_` + 48 hex
digits), the original system's (`session_<ms>_<random>_<fingerprint>`),
Reflex's client tokens (a tab's UUID: whoever holds it could reconnect as the
tab, and Reflex names it in some warnings) and the tokens of the links in reply
emails (`/chat/resume/<token>`, `/chat/unsubscribe/<token>`).

`install()` puts it where records are made and where they are written:
- on the access loggers of the servers Reflex can run on: Granian (what
  `reflex run --env prod` uses here; `granian.access`, off unless enabled)
  and Uvicorn/Gunicorn (`uvicorn.access`, `gunicorn.access`);
- on the root logger and its handlers;
- around the log record factory, so records of every other logger
  (SQLAlchemy echoing parameters, tracebacks of failed requests) are redacted
  when they are made, whatever handlers a server configures later.
"""

import logging
import re
from typing import Any

# Session ids, the original system's ids, Reflex's client tokens (a tab's UUID, which acts for the tab), and the
# tokens of the links in reply emails (the path after /chat/resume/ or /chat/unsubscribe/).
SESSION_ID_RE = re.compile(
    r"cs_[0-9a-f]{48}|session_\d+_\w+_\w+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|(?<=/chat/resume/)[A-Za-z0-9_-]+|(?<=/chat/unsubscribe/)[A-Za-z0-9_-]+"
)
REDACTED = "[redacted]"
SERVER_LOGGERS = ("granian.access", "uvicorn.access", "gunicorn.access", "uvicorn.error", "_granian")


def redact(text: str) -> str:
    return SESSION_ID_RE.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place, keeping the shape of its args (Uvicorn's access formatter unpacks them)."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, dict):
        record.args = {key: _redact_value(value) for key, value in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_redact_value(value) for value in record.args)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001  (a malformed record: left to the handler's own error path)
        message = ""
    if SESSION_ID_RE.search(message):  # an id inside a non-string argument (an exception, a URL object)
        record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactSessionIds(logging.Filter):
    """A logging filter that rewrites session ids to `[redacted]`; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_filter = RedactSessionIds()
_installed = False


def install() -> None:
    """Redact session ids in every log record of this process (idempotent)."""
    global _installed
    for name in SERVER_LOGGERS:
        _add_filter(logging.getLogger(name))
    root = logging.getLogger()
    _add_filter(root)
    for handler in root.handlers:
        _add_filter(handler)
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def redacting_record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(redacting_record_factory)


def _add_filter(target: logging.Logger | logging.Handler) -> None:
    if _filter not in target.filters:
        target.addFilter(_filter)
