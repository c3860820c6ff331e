"""Structured JSON logging that never writes an IBAN, an e-mail or a token in clear.

Callers log event names and chosen fields; as a safety net the formatter
masks anything that looks like an e-mail address, an IBAN, a JWT or a bearer
token in the final line, whatever its source (messages, fields, tracebacks).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

__all__ = ["JsonFormatter", "get_logger", "log_event", "redact"]

LOGGER_NAME = "assurcredit.api"
_PATTERNS = (
    (re.compile(r"(?i)bearer\s+[^\s\"',]+"), "Bearer [jeton masqué]"),
    (re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*"), "[jeton masqué]"),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[e-mail masqué]"),
    # An IBAN: country code, check digits, then 11 to 30 letters or digits, maybe grouped by spaces.
    (re.compile(r"(?i)\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]){11,30}\b"), "[IBAN masqué]"),
)
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    """``text`` with e-mails, IBANs and tokens masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and extra fields, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a redacted JSON line."""
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False, default=str))


def get_logger() -> logging.Logger:
    """The API logger, writing JSON lines to stderr (CloudWatch on Lambda)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
        logger.propagate = False
    return logger


def log_event(
    event: str, level: int = logging.INFO, exc_info: BaseException | None = None, **fields: Any
) -> None:
    """Log ``event`` with ``fields`` (never pass personal data: it would be masked anyway)."""
    get_logger().log(level, event, exc_info=exc_info, extra=fields)
