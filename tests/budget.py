"""How many hypothesis examples a suite runs under the active profile.

`budget(n)` is n under "ci"; scaled by BAASKIT_BUDGET_SCALE (a float, default 1) so the soak
script can multiply every suite's search without editing tests; "dev" caps at n // 10.
"""

from __future__ import annotations

import os


def budget(n: int) -> int:
    profile = os.environ.get("HYPOTHESIS_PROFILE", "ci")
    scale = float(os.environ.get("BAASKIT_BUDGET_SCALE", "1"))
    if profile == "dev":
        return max(1, n // 10)
    return max(1, int(n * scale))
