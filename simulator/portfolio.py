"""Yearly loss distribution of a client portfolio, with no cover and under each formula.

Each buyer defaults independently within the year with its probability and
costs its exposure. The distribution of the yearly loss is computed exactly
on a money grid by convolution (each amount split between its two nearest
grid points so that means are kept), not sampled: the same request gives
the same figures on every runtime.

The yearly maximum liability ``C`` couples the buyers: the loss kept is
``K = U + max(0, I - C)`` where ``U`` is the kept loss before the cap and
``I`` the total indemnity. Expected values are exact. For the tail we use
``max(P(U > x), P(G > x + C)) <= P(K > x) <= P(U > x) + min(P(G > x + C), P(I > C))``
(``G`` the gross loss) and report quantiles from the upper, prudent bound
with ``cap_bound``, the most the two bounds differ.

>>> from .tariff import load_tariff
>>> r = portfolio_request({"profile": {"turnover": 600000, "sector": "services",
...     "buyers_count": 12, "top_buyers": [{"name": "Alpha", "share": 0.3}]},
...     "cash_cushion": 40000}, load_tariff())
>>> [o["formula"] for o in r["outcomes"]]
['none', 'essentielle', 'selection', 'tout_compris']
>>> none, tc = r["outcomes"][0], r["outcomes"][3]
>>> Decimal(tc["expected_kept_loss"]) < Decimal(none["expected_kept_loss"])
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from .compare import compare
from .errors import InvalidCombination
from .fields import (
    join,
    read_choice,
    read_decimal,
    read_int,
    read_list,
    read_str,
    reject_unknown,
    require_object,
)
from .money import ZERO, cents, money_str
from .options import estimated_outstanding
from .pricing import Quote
from .profile import ZONES, Profile, parse_profile
from .settle import Terms, buyer_blocking, cover_limit, indemnity_due, parse_terms
from .tariff import FORMULAS, Tariff

__all__ = ["Distribution", "RiskBuyer", "portfolio_request", "profile_buyers"]

_FIELDS = ("op", "tariff_version", "profile", "options", "buyers", "cash_cushion")
_BUYER_FIELDS = ("name", "exposure", "pd", "grade", "zone")
_MAX_EXPOSURE = Decimal("100000000")
_BINOMIAL_CHUNK = 500  # keeps q**n far from underflow for any default probability we accept
_TINY = 1e-16
_NEGLIGIBLE = 1e-18
_BIG_SHARE = 4  # a buyer is enumerated when its single indemnity exceeds a quarter of the cap
_MAX_BIG = 8
_PRUNE = 1e-12
_HALF = Decimal("0.5")
_CAP_BINS = 64  # grid of the small buyers' indemnity, only read against the cap


@dataclass(frozen=True, slots=True)
class RiskBuyer:
    """A buyer as the risk model sees it: what it owes at default and how likely that is."""

    name: str
    exposure: Decimal
    pd: Decimal
    zone: str
    count: int = 1  # identical buyers, convolved at once


def _ipow(base: float, n: int) -> float:
    """``base ** n`` by multiplications only: bit-identical on every libm."""
    result = 1.0
    while n:
        if n & 1:
            result *= base
        base *= base
        n >>= 1
    return result


class Distribution:
    """Probability masses on ``bins`` grid points ``0, h, 2h, ...`` plus the mass beyond.

    Only the masses up to the last one that can be non-zero are stored, so
    early convolutions and small kept losses cost little.
    """

    __slots__ = ("bins", "mass", "tail")

    def __init__(self, bins: int) -> None:
        self.bins = bins
        self.mass = [1.0]
        self.tail = 0.0

    def _shifted_sum(self, parts: Sequence[tuple[float, int]]) -> None:
        """Replace masses by ``sum(weight * shift(mass, k))`` over ``parts``; overflow goes to the tail."""
        old = self.mass
        size = len(old)
        new_size = min(self.bins, size + max(k for _, k in parts))
        new = [0.0] * new_size
        tail = self.tail
        for weight, shift in parts:
            if weight == 0.0:
                continue
            if shift >= new_size:
                tail += weight * math.fsum(old)
                continue
            end = min(new_size, shift + size)
            new[shift:end] = [a + weight * b for a, b in zip(new[shift:end], old[: end - shift], strict=True)]
            if end - shift < size:
                tail += weight * math.fsum(old[end - shift :])
        self.mass = new
        self.tail = tail + self._trim(new)

    def _bernoulli(self, p: float, low: int, frac: float) -> None:
        """One loss of ``low + frac`` steps with probability ``p``, in a single pass."""
        old = self.mass
        size = len(old)
        n = self.bins
        if low >= n:
            self.mass = [(1.0 - p) * a for a in old]
            self.tail = self.tail + p * math.fsum(old)
            return
        new_size = min(n, size + low + 1)
        padded = old + [0.0] * (new_size - size)
        first = [0.0] * low + padded[: new_size - low]
        second = [0.0] * (low + 1) + padded[: new_size - low - 1]
        q, w1, w2 = 1.0 - p, p * (1.0 - frac), p * frac
        mass = [q * a + w1 * b + w2 * c for a, b, c in zip(padded, first, second, strict=True)]
        overflow = w1 * math.fsum(padded[new_size - low :]) + w2 * math.fsum(padded[new_size - low - 1 :])
        self.mass = mass
        self.tail = self.tail + overflow + self._trim(mass)

    @staticmethod
    def _trim(mass: list[float]) -> float:
        """Drop negligible masses at the top end, returned to go to the tail.

        They cannot move any figure we print, and a shorter list makes every
        later convolution cheaper.
        """
        dropped = 0.0
        while len(mass) > 1 and mass[-1] < _NEGLIGIBLE:
            dropped += mass.pop()
        return dropped

    def add(self, amount_bins: float, p: float, count: int = 1) -> None:
        """Convolve with ``count`` independent losses of ``amount_bins`` grid steps, each with probability ``p``."""
        if p <= 0.0 or amount_bins <= 0.0:
            return
        low = int(amount_bins)
        frac = amount_bins - low
        if count == 1:
            # Split the loss between its two nearest grid points; the mean is kept.
            self._bernoulli(p, low, frac)
            return
        left = count
        while left:
            n = min(left, _BINOMIAL_CHUNK)
            left -= n
            q = 1.0 - p
            term = _ipow(q, n)
            parts: list[tuple[float, int]] = []
            cumulative = 0.0
            for k in range(n + 1):
                total = k * amount_bins
                k_low = int(total)
                k_frac = total - k_low
                parts.append((term * (1.0 - k_frac), k_low))
                parts.append((term * k_frac, k_low + 1))
                cumulative += term
                if 1.0 - cumulative < _TINY or k == n:
                    break
                term = term * (n - k) / (k + 1) * p / q
            self._shifted_sum(parts)

    def survivals(self) -> list[float]:
        """P(loss > j * h) for every grid point j."""
        out = [self.tail] * self.bins
        running = self.tail
        for j in range(len(self.mass) - 1, -1, -1):
            out[j] = running
            running += self.mass[j]
        return out


def _at(survival: Sequence[float], index: int, tail: float) -> float:
    """P(loss > index * h) from a survival list, the tail mass past its end."""
    return survival[index] if index < len(survival) else tail


def _buyer_pd(obj: Mapping[str, Any], path: str, profile: Profile, tariff: Tariff) -> Decimal:
    if obj.get("pd") is not None:
        return read_decimal(obj, "pd", path, low=0, high=1)
    if obj.get("grade") is not None:
        return tariff["grades"][str(read_int(obj, "grade", path, low=1, high=10))]["pd"]
    return tariff.sector(profile.sector)["pd"]


def _explicit_buyers(raw: list[Any], profile: Profile, tariff: Tariff) -> list[RiskBuyer]:
    buyers = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = join("buyers", i)
        obj = require_object(item, path)
        reject_unknown(obj, _BUYER_FIELDS, path)
        name = read_str(obj, "name", path, max_length=120)
        if name.casefold() in seen:
            raise InvalidCombination(join(path, "name"), f"le client « {name} » figure deux fois")
        seen.add(name.casefold())
        buyers.append(
            RiskBuyer(
                name=name,
                exposure=read_decimal(obj, "exposure", path, low=0, high=_MAX_EXPOSURE),
                pd=_buyer_pd(obj, path, profile, tariff),
                zone=read_choice(obj, "zone", path, ZONES, default="france"),
            )
        )
    return buyers


def profile_buyers(profile: Profile, tariff: Tariff) -> list[RiskBuyer]:
    """Buyers implied by the profile: the top buyers, then the others sharing the rest evenly by zone."""
    sector_pd = tariff.sector(profile.sector)["pd"]
    buyers = [
        RiskBuyer(
            name=b.name,
            exposure=cents(estimated_outstanding(b.share * profile.turnover, profile, tariff)),
            pd=tariff["grades"][str(b.grade)]["pd"] if b.grade else sector_pd,
            zone=b.zone,
        )
        for b in profile.top_buyers
    ]
    rest = {
        z: profile.zone_sales(z)
        - sum((b.share * profile.turnover for b in profile.top_buyers if b.zone == z), ZERO)
        for z in ZONES
    }
    rest = {z: v for z, v in rest.items() if v > 0}
    others = profile.buyers_count - len(profile.top_buyers)
    if not rest or others <= 0:
        return buyers
    total = sum(rest.values(), ZERO)
    # Largest-remainder split of the other buyers between zones, at least one per zone with sales.
    raw_counts = {z: others * v / total for z, v in rest.items()}
    counts = {z: max(1, int(c)) for z, c in raw_counts.items()}
    by_remainder = sorted(rest, key=lambda z: (-(raw_counts[z] - int(raw_counts[z])), ZONES.index(z)))
    for z in by_remainder:
        if sum(counts.values()) >= others:
            break
        counts[z] += 1
    for z in ZONES:
        if z in rest:
            exposure = cents(estimated_outstanding(rest[z] / counts[z], profile, tariff))
            buyers.append(
                RiskBuyer(
                    name=f"autres clients ({z})", exposure=exposure, pd=sector_pd, zone=z, count=counts[z]
                )
            )
    return buyers


def _claim_indemnity(terms: Terms, buyer: RiskBuyer) -> Decimal:
    """Indemnity if ``buyer`` defaults alone, by the same rules as :func:`simulator.settle.settle`."""
    if buyer_blocking(terms, buyer.name, buyer.zone):
        return ZERO
    covered = min(buyer.exposure, cover_limit(terms, buyer.name))
    return indemnity_due(terms, covered, min(terms.deductible, covered))


def _nice_step(raw: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``raw`` (at least one cent)."""
    raw = max(raw, Decimal("0.01"))
    exponent = raw.adjusted()
    for mantissa in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        step = mantissa.scaleb(exponent)
        if step >= raw:
            return step
    raise AssertionError("unreachable")  # pragma: no cover


def _bins(amount: Decimal, step: Decimal) -> float:
    return float(amount / step)


def _prob(p: float) -> str:
    return format(min(max(p, 0.0), 1.0), ".6f")


def _survival_at(survival: Sequence[float], steps: Decimal) -> float:
    """P(loss > x) for ``x = steps * h``, read between grid points.

    The mass on grid point j stands for losses around ``j * h``; the survival
    is taken as reached half-way between points and linear in between. Grid
    point 0 holds mostly the years without loss, so it is not spread.
    """
    if steps <= _HALF:
        return survival[0]
    j = int((steps + _HALF).to_integral_value(rounding=ROUND_FLOOR))  # steps in [j - 1/2, j + 1/2)
    if j >= len(survival):
        return survival[-1]
    weight = float(steps - j + _HALF)
    return survival[j - 1] + (survival[j] - survival[j - 1]) * weight


def _quantile(survival: Sequence[float], level: float, step: Decimal) -> str | None:
    """Smallest amount whose survival is at most ``1 - level``, by the reading of :func:`_survival_at`.

    None when the grid does not reach it.
    """
    target = 1.0 - level + 1e-12
    if survival[0] <= target:
        return money_str(ZERO)
    for j in range(1, len(survival)):
        if survival[j] <= target:
            before = survival[j - 1]
            fraction = (before - target) / (before - survival[j])
            return money_str(step * (j - _HALF + Decimal(repr(fraction))))
    return None


def _distribution(
    buyers: Sequence[RiskBuyer],
    amounts: Sequence[Decimal],
    step: Decimal,
    bins: int,
    cache: dict[tuple[Any, ...], Distribution] | None = None,
) -> Distribution:
    """The loss distribution of ``buyers`` each losing its amount on default.

    ``cache`` shares results within a request: formulas often leave some
    amounts unchanged (no indemnity on a buyer means its kept loss is its
    gross loss).
    """
    # Smallest amounts first: the stored support then grows as late as it can.
    losses = sorted((a, b.pd, b.count) for b, a in zip(buyers, amounts, strict=True) if a > 0)
    key = (step, bins, tuple(losses))
    if cache is not None and key in cache:
        return cache[key]
    dist = Distribution(bins)
    for amount, pd, count in losses:
        dist.add(_bins(amount, step), float(pd), count)
    if cache is not None:
        cache[key] = dist
    return dist


def _expected(buyers: Sequence[RiskBuyer], amounts: Sequence[Decimal]) -> Decimal:
    return sum((b.pd * a * b.count for b, a in zip(buyers, amounts, strict=True)), ZERO)


def portfolio_request(request: Mapping[str, Any], tariff: Tariff) -> dict[str, Any]:
    """The ``portfolio`` operation."""
    reject_unknown(request, _FIELDS, "")
    profile = parse_profile(request.get("profile"), tariff)
    raw_options = require_object(request.get("options") or {}, "options")
    reject_unknown(raw_options, FORMULAS, "options")
    cushion = read_decimal(request, "cash_cushion", "", default=ZERO, low=0, high=_MAX_EXPOSURE)
    raw_buyers = (
        read_list(request, "buyers", "", default=None, max_items=2000) if request.get("buyers") else None
    )
    buyers = _explicit_buyers(raw_buyers, profile, tariff) if raw_buyers else profile_buyers(profile, tariff)
    quotes, _ = compare(profile, raw_options, tariff)
    spec = tariff["portfolio"]
    bins = spec["grid_bins"]

    gross = [b.exposure for b in buyers]
    mean = _expected(buyers, gross)
    variance = sum((b.pd * (1 - b.pd) * e * e * b.count for b, e in zip(buyers, gross, strict=True)), ZERO)
    largest = max(gross, default=ZERO)
    # Grid wide enough for the cushion, the largest single loss and the far tail of the total.
    top = max(cushion, largest * 2, mean + 10 * variance.sqrt(), Decimal(100))
    step = _nice_step(top / bins)
    cache: dict[tuple[Any, ...], Distribution] = {}
    gross_dist = _distribution(buyers, gross, step, bins, cache)
    gross_surv = gross_dist.survivals()

    outcomes = [
        _outcome(
            "none", "Sans assurance", expected_kept=mean, survival=gross_surv, cushion=cushion, step=step
        )
    ]
    for formula in FORMULAS:
        quote = quotes[formula]
        if not isinstance(quote, Quote):
            outcomes.append(
                {"formula": formula, "label": tariff.formula(formula)["label"], "available": False}
            )
            continue
        terms = parse_terms(quote.terms, tariff)
        indemnities = [_claim_indemnity(terms, b) for b in buyers]
        cap = _CapModel(buyers, indemnities, terms.max_liability, step, bins, cache)
        outcomes.append(
            _outcome(
                formula,
                tariff.formula(formula)["label"],
                expected_kept=cap.expected_kept,
                survival=cap.upper,
                lower=cap.lower,
                expected_indemnity=cap.expected_indemnity,
                premium=quote.premium.total,
                cap=terms.max_liability,
                cap_bound=cap.gap,
                p_cap=cap.p_cap,
                cushion=cushion,
                step=step,
            )
        )
    return {
        "grid": {"step": money_str(step), "bins": bins, "top": money_str(step * bins)},
        "cash_cushion": money_str(cushion),
        "buyers": {
            "count": sum(b.count for b in buyers),
            "total_exposure": money_str(sum((b.exposure * b.count for b in buyers), ZERO)),
            "expected_defaults": str(sum((b.pd * b.count for b in buyers), ZERO).quantize(Decimal("0.001"))),
            "source": "explicit" if raw_buyers else "profile",
        },
        "outcomes": outcomes,
        "histogram": _histogram(outcomes, step, bins, tariff["portfolio"]["histogram_bins"]),
    }


def _shifted(survival: Sequence[float], tail: float, offset: int) -> list[float]:
    """``[P(X > (j + offset) h) for j in grid]``: 1 before the grid, the tail after it."""
    n = len(survival)
    if offset >= n:
        return [tail] * n
    if offset <= -n:
        return [1.0] * n
    if offset >= 0:
        return list(survival[offset:]) + [tail] * offset
    return [1.0] * -offset + list(survival[: n + offset])


def _moved(survival: Sequence[float], tail: float, amount: Decimal, step: Decimal) -> list[float]:
    """``[P(X + amount > j h) for j in grid]``, the amount split between its two nearest grid points.

    The split is the one :meth:`Distribution.add` uses, so moving a
    distribution and convolving it with a sure loss give the same masses.
    """
    bins = amount / step
    low = int(bins.to_integral_value(rounding=ROUND_FLOOR))
    frac = float(bins - low)
    first = _shifted(survival, tail, -low)
    if frac == 0.0:
        return first
    second = _shifted(survival, tail, -low - 1)
    return [(1.0 - frac) * a + frac * b for a, b in zip(first, second, strict=True)]


class _CapModel:
    """Loss kept under a formula with its yearly maximum liability ``C``.

    Buyers whose single indemnity is a large part of ``C`` ("big") are
    enumerated default by default, which makes the cap exact whenever they
    are what breaks it; only the small buyers' indemnity against the cap left
    is bounded, by ``P(I_small > C_left)``.
    """

    def __init__(
        self,
        buyers: Sequence[RiskBuyer],
        indemnities: Sequence[Decimal],
        cap: Decimal,
        step: Decimal,
        bins: int,
        cache: dict[tuple[Any, ...], Distribution],
    ) -> None:
        kept_amounts = [b.exposure - a for b, a in zip(buyers, indemnities, strict=True)]
        self.expected_indemnity_uncapped = _expected(buyers, indemnities)
        order = sorted(
            (i for i, b in enumerate(buyers) if b.count == 1 and indemnities[i] * _BIG_SHARE > cap),
            key=lambda i: (-indemnities[i], i),
        )
        big = set(order[:_MAX_BIG])
        small = [i for i in range(len(buyers)) if i not in big]

        def subset(
            indexes: Sequence[int], amounts: Sequence[Decimal]
        ) -> tuple[list[RiskBuyer], list[Decimal]]:
            return [buyers[i] for i in indexes], [amounts[i] for i in indexes]

        gross = [b.exposure for b in buyers]
        small_gross = _distribution(*subset(small, gross), step, bins, cache)
        small_kept = _distribution(*subset(small, kept_amounts), step, bins, cache)
        s_gross, s_kept = small_gross.survivals(), small_kept.survivals()
        small_buyers, small_ind = subset(small, indemnities)
        possible = sum((a * b.count for b, a in zip(small_buyers, small_ind, strict=True)), ZERO)
        mean_small_ind = _expected(small_buyers, small_ind)
        ind_step = cap / _CAP_BINS if cap > 0 else Decimal(1)
        ind_dist = (
            _distribution(small_buyers, small_ind, ind_step, _CAP_BINS, cache)
            if possible > 0
            else Distribution(_CAP_BINS)
        )
        ind_surv = ind_dist.survivals()

        upper = [0.0] * bins
        lower = [0.0] * bins
        excess = ZERO
        p_cap = 0.0
        for prob, g_big, u_big, i_big in _enumerate_big(
            [buyers[i] for i in order[:_MAX_BIG]], order[:_MAX_BIG], indemnities
        ):
            left = cap - i_big
            if left <= 0:
                # The cap is used up by the big defaults alone: every further euro is kept.
                up = low = _moved(s_gross, small_gross.tail, g_big - cap, step)
                excess += Decimal(repr(prob)) * (mean_small_ind - left)
                p_cap += prob
            else:
                index = int(left / ind_step)
                over = 0.0 if possible <= left else (ind_surv[index] if index < _CAP_BINS else ind_dist.tail)
                kept = _moved(s_kept, small_kept.tail, u_big, step)
                if over == 0.0:
                    up = low = kept
                else:
                    spill = _moved(s_gross, small_gross.tail, u_big - left, step)
                    up = [min(1.0, k + min(g, over)) for k, g in zip(kept, spill, strict=True)]
                    low = [max(k, g) for k, g in zip(kept, spill, strict=True)]
                    below = math.fsum(
                        m * min(j * float(ind_step), float(left)) for j, m in enumerate(ind_dist.mass)
                    )
                    capped_mean = Decimal(repr(below)) + Decimal(repr(ind_dist.tail)) * left
                    excess += Decimal(repr(prob)) * max(ZERO, mean_small_ind - capped_mean)
                    p_cap += prob * over
            upper = [a + prob * b for a, b in zip(upper, up, strict=True)]
            lower = [a + prob * b for a, b in zip(lower, low, strict=True)]
        self.upper = [min(1.0, u) for u in upper]
        self.lower = [min(lo, u) for lo, u in zip(lower, self.upper, strict=True)]
        self.gap = max((u - lo for u, lo in zip(self.upper, self.lower, strict=True)), default=0.0)
        self.p_cap = min(1.0, p_cap)
        self.excess = excess
        self.expected_kept = _expected(buyers, kept_amounts) + excess
        self.expected_indemnity = self.expected_indemnity_uncapped - excess


def _enumerate_big(
    big: Sequence[RiskBuyer], indexes: Sequence[int], indemnities: Sequence[Decimal]
) -> list[tuple[float, Decimal, Decimal, Decimal]]:
    """Every default pattern of the big buyers: probability, gross loss, kept loss, indemnity.

    Patterns less likely than ``_PRUNE`` are merged into the least likely kept
    one's probability mass as if all its buyers defaulted (prudent).
    """
    states: list[tuple[float, Decimal, Decimal, Decimal]] = [(1.0, ZERO, ZERO, ZERO)]
    for buyer, i in zip(big, indexes, strict=True):
        p = float(buyer.pd)
        a = indemnities[i]
        grown: list[tuple[float, Decimal, Decimal, Decimal]] = []
        for prob, g, u, ind in states:
            grown.append((prob * (1.0 - p), g, u, ind))
            grown.append((prob * p, g + buyer.exposure, u + buyer.exposure - a, ind + a))
        states = [s for s in grown if s[0] >= _PRUNE]
        dropped = math.fsum(s[0] for s in grown if s[0] < _PRUNE)
        if dropped:
            worst = max(states, key=lambda s: s[1])
            states.append((dropped, worst[1], worst[2], worst[3]))
    return states


def _outcome(
    formula: str,
    label: str,
    *,
    expected_kept: Decimal,
    survival: Sequence[float],
    lower: Sequence[float] | None = None,
    expected_indemnity: Decimal = ZERO,
    premium: Decimal = ZERO,
    cap: Decimal | None = None,
    cap_bound: float = 0.0,
    p_cap: float | None = None,
    cushion: Decimal,
    step: Decimal,
) -> dict[str, Any]:
    """One outcome's figures; tail figures from the prudent ``survival``, with the ``lower`` one as a range."""
    lower = survival if lower is None else lower
    q95, q99 = _quantile(survival, 0.95, step), _quantile(survival, 0.99, step)
    exceeds = _prob(_survival_at(survival, cushion / step))
    return {
        "formula": formula,
        "label": label,
        "available": True,
        "premium_total": money_str(premium),
        "max_liability": money_str(cap) if cap is not None else None,
        "expected_kept_loss": money_str(expected_kept),
        "expected_indemnity": money_str(expected_indemnity),
        "expected_cost": money_str(expected_kept + premium),
        "indemnity_to_premium": str((expected_indemnity / premium).quantize(Decimal("0.001")))
        if premium
        else None,
        "kept_loss_q95": q95,
        "kept_loss_q99": q99,
        "prob_exceeds_cushion": exceeds,
        "prob_cap_reached": _prob(p_cap) if p_cap is not None else None,
        "cap_bound": _prob(cap_bound),
        # Where the yearly cap is only bounded, the true figure lies in [low, high]; high is shown.
        "ranges": {
            "kept_loss_q95": [_quantile(lower, 0.95, step), q95],
            "kept_loss_q99": [_quantile(lower, 0.99, step), q99],
            "prob_exceeds_cushion": [_prob(_survival_at(lower, cushion / step)), exceeds],
        },
        "_survival": list(survival),
    }


def _histogram(outcomes: list[dict[str, Any]], step: Decimal, bins: int, bars: int) -> dict[str, Any]:
    """Masses of the loss kept on ``bars`` equal bars up to the no-cover 99.9 % point; the last bar holds the rest."""
    none = outcomes[0]["_survival"]
    reach = next((j for j, s in enumerate(none) if s <= 0.001), bins - 1)
    per_bar = max(1, -(-max(reach, 1) // bars))
    edges = [money_str(step * per_bar * i) for i in range(bars + 1)]
    series: dict[str, list[str]] = {}
    for outcome in outcomes:
        survival = outcome.pop("_survival", None)
        if survival is None:
            continue

        def cdf_at(j: int, s: Sequence[float] = survival) -> float:
            return 1.0 - (s[j] if j < len(s) else s[-1])

        masses = []
        previous = 0.0
        for i in range(1, bars + 1):
            current = 1.0 if i == bars else cdf_at(per_bar * i - 1)
            masses.append(_prob(current - previous))
            previous = current
        series[outcome["formula"]] = masses
    return {"edges": edges, "series": series}
