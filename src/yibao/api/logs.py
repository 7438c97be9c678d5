"""Structured logs: one JSON object per line, with the fields passed in ``extra``.

Personal data never reaches the log: the gateway logs ``infno``, ``msgid``, the institution, the
outcome and the time taken, never names, ID numbers or amounts.
"""

from __future__ import annotations

import json
import logging

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("yibao")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
