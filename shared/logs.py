"""JSON logs (one object a line) with the request id of the request that caused them, and the
access log: one line per HTTP request (logger `support.access`, written by the edge middleware).

The request id comes in as `X-Request-ID` (or is made at the edge), goes out on every call to
another service and with every event relayed (shared/http.py), so one request can be followed
across the three services by grepping their logs for it."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone

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


class AccessJsonFormatter(logging.Formatter):
    """The access log's line, built directly (orjson): it is written once per request, so it is
    kept several times cheaper than the general JSON formatter."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                "service": record.__dict__.get("service"), "request_id": record.__dict__.get("request_id")}
        for name in ACCESS_FIELDS:
            line[name] = record.__dict__.get(name)
        return orjson.dumps(line).decode()


class AccessTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        d = record.__dict__
        return (f"{self.formatTime(record)} {record.levelname} [{d.get('service')} {d.get('request_id')}] "
                f"access: {d.get('method')} {d.get('path')} {d.get('status')} {d.get('duration_ms')}ms "
                f"sub={d.get('sub')}")


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

    access_handler = logging.StreamHandler(sys.stderr)
    access_handler.setFormatter(AccessJsonFormatter() if fmt == "json" else AccessTextFormatter())
    access_handler.addFilter(_RequestIdFilter(service))
    access = logging.getLogger(ACCESS_LOGGER)
    access.handlers[:] = [access_handler]
    access.propagate = False
    access.setLevel(level.upper())  # its lines are INFO: LOG_LEVEL=WARNING silences them
