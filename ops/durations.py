"""``--since 1h30m``: durations as operators type them."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h30m``, ``2d``, ``1w``; a ValueError that says what is accepted otherwise."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(number + unit for number, unit in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h30m, 2d)")
    duration = timedelta()
    for number, unit in parts:
        duration += timedelta(**{_UNITS[unit]: float(number)})
    if duration <= timedelta():
        raise ValueError(f"not a positive duration: {text!r}")
    return duration
