"""Times as the API writes them: ISO 8601 in UTC with the offset ``+00:00``.

The database keeps naive UTC (``engine.clock``); ``iso`` writes a stored time for JSON, so every
time in the API carries its offset. Times the API reads (``due_before``) accept an offset and are
converted to UTC; without one they are UTC. Pages show times in ``engine.config.timezone``.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional


def iso(value: Optional[datetime]) -> Optional[str]:
    """A stored (naive UTC) or aware time as ISO 8601 in UTC with ``+00:00``; ``None`` stays ``None``."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc).isoformat()
    return value.astimezone(timezone.utc).isoformat()
