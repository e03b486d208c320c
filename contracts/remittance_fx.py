"""FX and fee arithmetic: integers only, one rounding rule (floor), used by contract and client alike.

Rate: `rate_num / rate_den` target MAJOR units per source MAJOR unit (HKD->PHP at 7.1234 is
71234/10000). In minor units, with exponents e_s (source) and e_t (target):

    target_minor = floor(source_minor * rate_num * 10**e_t / (rate_den * 10**e_s))

Corridor fee: fee_fixed + floor(principal * fee_bps / 10_000), in source minor units.
Rounding down always favours the payer of the conversion (the liquidity provider never pays a
fraction it was not quoted) and is exact integer arithmetic, so every replica agrees.
"""

from __future__ import annotations

BPS_DENOMINATOR = 10_000


def convert(
    source_minor: int, rate_num: int, rate_den: int, source_exponent: int, target_exponent: int
) -> int:
    """Target minor units for `source_minor`, rounded down (see the module docstring)."""
    if source_minor < 0 or rate_num <= 0 or rate_den <= 0:
        raise ValueError("convert needs a non-negative amount and a positive rate")
    if source_exponent < 0 or target_exponent < 0:
        raise ValueError("currency exponents are non-negative")
    return (source_minor * rate_num * 10**target_exponent) // (rate_den * 10**source_exponent)


def corridor_fee(principal: int, fee_fixed: int, fee_bps: int) -> int:
    """fee_fixed + floor(principal * fee_bps / 10_000)."""
    if principal < 0 or fee_fixed < 0 or fee_bps < 0:
        raise ValueError("fees are computed from non-negative integers")
    return fee_fixed + (principal * fee_bps) // BPS_DENOMINATOR
