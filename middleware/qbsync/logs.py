"""Logging for both processes: text lines, or JSON lines (`QBSYNC_LOG_FORMAT=json`), and the
events a line is about.

`about_events` puts the event keys of the work in hand (a webhook's events, the worker's claimed
batch) in a context variable; a filter copies them onto every record logged meanwhile, from any
module, so a JSON line about an event always carries its `event_key` (or `event_keys` for a
batch) without each log call naming it. Context variables follow the thread (and, under gevent's
patching, the greenlet), so concurrent requests do not mix.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# At most this many keys on one line; a bigger batch also says how many it has.
MAX_KEYS_PER_LINE = 50

_events: ContextVar[tuple[str, ...]] = ContextVar("qbsync_event_keys", default=())


@contextmanager
def about_events(keys: Sequence[str]) -> Iterator[None]:
    """Lines logged inside this block carry these event keys."""
    token = _events.set(tuple(keys))
    try:
        yield
    finally:
        _events.reset(token)


def bind_events(keys: Sequence[str]) -> None:
    """`about_events` for a loop that cannot wrap its body in a block: lines carry `keys` until
    `unbind_events` or the next bind."""
    _events.set(tuple(keys))


def unbind_events() -> None:
    _events.set(())


class EventKeyFilter(logging.Filter):
    """Adds `event_key` (one event) or `event_keys` and `event_count` (several) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        keys = _events.get()
        if len(keys) == 1 and not hasattr(record, "event_key"):
            record.event_key = keys[0]
        elif len(keys) > 1 and not hasattr(record, "event_keys"):
            record.event_keys = list(keys[:MAX_KEYS_PER_LINE])
            record.event_count = len(keys)
        return True


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `extra` fields.

    Handlers pass counts and ids as `extra`, never bodies, headers or settings values.
    """

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: str, form: str = "text") -> None:
    """The `qbsync` loggers' lines on stderr, as text or JSON (`form`), with the event keys."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(EventKeyFilter())
    logger = logging.getLogger("qbsync")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
