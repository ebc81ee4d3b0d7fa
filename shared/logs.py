"""JSON logs (one object a line) with the request id of the request that caused them, and the
access log: one line per HTTP request (logger `support.access`, written by the edge middleware).

The request id comes in as `X-Request-ID` (or is made at the edge), goes out on every call to
another service and with every event relayed (shared/http.py), so one request can be followed
across the three services by grepping their logs for it."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any

import orjson
from pythonjsonlogger.json import JsonFormatter

from shared.context import current_request_id

ACCESS_LOGGER = "support.access"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "sub")


class _RequestIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        # a record may bring its own (the access log is written after the request's context ended)
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        if getattr(record, "service", None) is None:
            record.service = self.service
        return True


def _json_line(at: datetime, fields: dict[str, Any]) -> str:
    line = {"ts": at.isoformat(timespec="milliseconds"), "level": "INFO", "logger": ACCESS_LOGGER,
            "message": "request", "service": fields.get("service"), "request_id": fields.get("request_id")}
    for name in ACCESS_FIELDS:
        line[name] = fields.get(name)
    return orjson.dumps(line).decode()


def _text_line(at: datetime, fields: dict[str, Any]) -> str:
    f = fields.get
    return (f"{at:%Y-%m-%d %H:%M:%S} INFO [{f('service')} {f('request_id')}] access: {f('method')} {f('path')} "
            f"{f('status')} {f('duration_ms')}ms sub={f('sub')}")


class AccessJsonFormatter(logging.Formatter):
    """The access log's line as a record (any handler, e.g. a test's) is formatted: the same
    line `AccessStreamHandler` writes."""

    def format(self, record: logging.LogRecord) -> str:
        return _json_line(datetime.fromtimestamp(record.created, timezone.utc), record.__dict__)


class AccessTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _text_line(datetime.fromtimestamp(record.created, timezone.utc), record.__dict__)


class AccessStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The access log's handler installed by `configure_logging`. The edge middleware hands it
    its fields directly (`write`), without building a LogRecord through the logging machinery:
    one line per request costs a few microseconds instead of tens on the hot paths. Records that
    arrive the usual way are formatted to the same line."""

    def __init__(self, fmt: str) -> None:
        super().__init__(sys.stderr)
        self.json = fmt == "json"
        self.setFormatter(AccessJsonFormatter() if self.json else AccessTextFormatter())

    def write(self, fields: dict[str, Any]) -> None:
        now = datetime.now(timezone.utc)
        line = _json_line(now, fields) if self.json else _text_line(now, fields)
        with self.lock:  # type: ignore[union-attr]
            self.stream.write(line + "\n")
            self.stream.flush()


class AccessLog:
    """What the edge middleware writes each request's line through."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.logger = logging.getLogger(ACCESS_LOGGER)

    def write(self, fields: dict[str, Any]) -> None:
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        fields["service"] = self.service
        handlers = logger.handlers
        if len(handlers) == 1 and not logger.propagate and isinstance(handlers[0], AccessStreamHandler):
            handlers[0].write(fields)
        else:  # configured otherwise (a test's capture, an operator's own handlers): a plain record
            logger.info("request", extra=fields)


def configure_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        ))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(service)s %(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(_RequestIdFilter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):  # replaced by the access log below
        logging.getLogger(noisy).setLevel(logging.WARNING)

    access_handler = AccessStreamHandler(fmt)
    access_handler.addFilter(_RequestIdFilter(service))
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers[:] = [access_handler]
    access.propagate = False
    access.setLevel(level.upper())  # its lines are INFO: LOG_LEVEL=WARNING silences them
