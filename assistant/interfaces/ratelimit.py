"""Request limits per client address: a sliding-window counter kept in memory.

One :class:`SlidingWindowLimiter` lives in each app's runtime (so each process, i.e. each
replica, counts on its own). It serves two rules:
- the request rate on asking, searching, feedback and uploads (``HTX_RATE_LIMIT``);
- failed admin keys (a few per address per minute, then 429 until the window passes).

Keys are bounded: the oldest addresses are dropped when more than ``max_keys`` are tracked.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*(?:/\s*(?:(\d+)\s*)?([a-z]+?)s?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Rate:
    limit: int  # requests allowed per window; 0 = no limit
    window_s: float

    @property
    def enabled(self) -> bool:
        return self.limit > 0


def parse_rate(text: str | None) -> Rate:
    """'60/minute', '20/min', '5/10s', '1000/hour'; '0', 'off' or empty turn the limit off."""
    value = (text or "").strip().lower()
    if value in ("", "0", "off", "none", "false"):
        return Rate(0, 60.0)
    m = _RATE.match(value)
    if not m:
        raise ValueError(f"invalid rate limit {text!r}: expected e.g. '60/minute'")
    count, multiple, unit = int(m.group(1)), m.group(2), (m.group(3) or "minute")
    if unit not in _UNITS:
        raise ValueError(f"invalid rate limit unit {unit!r} in {text!r}: use second, minute or hour")
    return Rate(count, _UNITS[unit] * (int(multiple) if multiple else 1))


class SlidingWindowLimiter:
    """``hit(key)`` records one event for ``key`` and says whether it is within ``rate``."""

    def __init__(self, rate: Rate, max_keys: int = 10_000, clock=time.monotonic):
        self.rate = rate
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _window(self, key: str, now: float) -> deque[float]:
        q = self._events.get(key)
        if q is None:
            q = self._events[key] = deque()
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        cutoff = now - self.rate.window_s
        while q and q[0] <= cutoff:
            q.popleft()
        return q

    def hit(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next event would be allowed)."""
        if not self.rate.enabled:
            return True, 0.0
        now = self._clock()
        with self._lock:
            q = self._window(key, now)
            if len(q) >= self.rate.limit:
                return False, max(0.0, q[0] + self.rate.window_s - now)
            q.append(now)
            return True, 0.0

    def blocked(self, key: str) -> float:
        """Seconds ``key`` must wait (0 when it may go on), without recording anything."""
        if not self.rate.enabled:
            return 0.0
        now = self._clock()
        with self._lock:
            q = self._window(key, now)
            return max(0.0, q[0] + self.rate.window_s - now) if len(q) >= self.rate.limit else 0.0

    def record(self, key: str) -> None:
        """Counts one event (e.g. a failed key) without checking."""
        if not self.rate.enabled:
            return
        with self._lock:
            self._window(key, self._clock()).append(self._clock())
