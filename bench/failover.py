"""What each surviving node did after the primary was killed, read back from its log.

The kill-primary figure (first commit in a new view) is one number; on a saturated machine it
has sat between 1.2 and 2.6 s, and which step took the time (noticing the loss, leaving the
view, installing the next one, the first commit after it) is what tuning needs. The nodes
already log each step (node/driver.py, LOG_*), with their local wall-clock time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from baaskit.node.driver import LOG_INSTALLED, LOG_LEFT, LOG_SUSPECTED

# logging's default asctime: local time, milliseconds after a comma.
_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}),(\d{3}) ")


def _pattern(log_format: str) -> re.Pattern[str]:
    """The driver's log format up to its first argument's end, the view number captured."""
    head, tail = log_format.split("%d", 1)
    return re.compile(re.escape(head) + r"(\d+)" + re.escape(tail.split("%", 1)[0]))


_SUSPECTED = _pattern(LOG_SUSPECTED)
_LEFT = _pattern(LOG_LEFT)
_INSTALLED = _pattern(LOG_INSTALLED)


@dataclass(frozen=True)
class FailoverSteps:
    """Seconds after the kill; (view, seconds) for the steps that name a view."""

    member: int
    suspected_s: float | None
    left: tuple[tuple[int, float], ...]  # (view it left for, s)
    installed: tuple[tuple[int, float], ...]  # (view installed, s)

    def to_json(self) -> dict[str, Any]:
        return {
            "suspected_s": self.suspected_s,
            "left": [list(x) for x in self.left],
            "installed": [list(x) for x in self.installed],
        }


def _stamp(line: str) -> float | None:
    m = _STAMP.match(line)
    if m is None:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000


def read_steps(member: int, log_file: Path, killed_at: float, until: float) -> FailoverSteps:
    """The steps `member` logged between `killed_at` and `until` (epoch seconds)."""
    suspected: float | None = None
    left: list[tuple[int, float]] = []
    installed: list[tuple[int, float]] = []
    try:
        lines = log_file.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        t = _stamp(line)
        if t is None or not killed_at - 0.001 <= t <= until:
            continue
        after = round(t - killed_at, 3)
        if suspected is None and _SUSPECTED.search(line):
            suspected = after
        elif m := _LEFT.search(line):
            left.append((int(m.group(1)), after))
        elif m := _INSTALLED.search(line):
            installed.append((int(m.group(1)), after))
    return FailoverSteps(member, suspected, tuple(left), tuple(installed))


def describe(steps: dict[int, dict[str, Any]]) -> list[str]:
    """One report line per surviving member."""
    out = []
    for member, s in sorted(steps.items()):
        # (time, order of the steps for equal times, text): a node that sees f+1 suspicions
        # suspects and leaves in the same millisecond.
        timed: list[tuple[float, int, str]] = []
        if s["suspected_s"] is not None:
            timed.append((s["suspected_s"], 0, "suspected the primary"))
        timed += [(t, 1, f"left for view {v}") for v, t in s["left"]]
        timed += [(t, 2, f"installed view {v}") for v, t in s["installed"]]
        parts = [f"{what} +{t:.2f} s" for t, _, what in sorted(timed)]
        out.append(f"  member {member}: " + (", ".join(parts) if parts else "logged no view change"))
    return out
