"""The current time, in one place so tests can move it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["PARIS", "now", "today_paris"]

try:
    PARIS: dt.tzinfo = ZoneInfo("Europe/Paris")
except (KeyError, OSError):  # pragma: no cover - no time-zone data on this host
    PARIS = dt.UTC


def now() -> dt.datetime:
    """The current UTC time."""
    return dt.datetime.now(dt.UTC)


def today_paris(moment: dt.datetime) -> dt.date:
    """The date in France at ``moment``."""
    return moment.astimezone(PARIS).date()
