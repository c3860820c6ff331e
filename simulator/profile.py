"""The business profile: what the owner tells about the company and its clients.

>>> p = parse_profile({"turnover": 500000, "sector": "it", "b2b_share": "0.8"})
>>> p.credit_sales, p.zone_sales("france")
(Decimal('400000.0'), Decimal('400000.0'))
>>> parse_profile({"turnover": 500000, "sector": "bakery"})
Traceback (most recent call last):
...
simulator.errors.InvalidValue: profile.sector: valeur inconnue ; valeurs possibles : services, it, wholesale, retail, manufacturing, agrifood, construction, transport, hospitality, health
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import InvalidCombination, InvalidValue
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
from .tariff import Tariff

__all__ = ["ZONES", "Buyer", "Profile", "parse_profile", "pct"]

ZONES = ("france", "eu", "world")
MAX_TURNOVER = Decimal("10000000")
ONE = Decimal(1)
_PROFILE_FIELDS = (
    "turnover",
    "b2b_share",
    "sector",
    "export",
    "buyers_count",
    "top_buyers",
    "payment_terms_days",
    "past_losses",
    "company_age_years",
    "public_share",
)


def pct(share: Decimal) -> str:
    """A share as a French percentage, for messages: ``0.255`` -> ``25,5 %``."""
    text = format((share * 100).normalize(), "f")
    return text.replace(".", ",") + " %"


@dataclass(frozen=True, slots=True)
class Buyer:
    """A client the owner names among the main ones."""

    name: str
    share: Decimal
    grade: int | None
    zone: str


@dataclass(frozen=True, slots=True)
class Profile:
    """A validated profile; shares are fractions of turnover unless stated."""

    turnover: Decimal
    b2b_share: Decimal
    sector: str
    export_eu: Decimal
    export_world: Decimal
    buyers_count: int
    top_buyers: tuple[Buyer, ...]
    payment_terms_days: int
    past_losses: Decimal
    company_age_years: Decimal
    public_share: Decimal

    @property
    def credit_sales(self) -> Decimal:
        """Sales on credit to businesses (excl. VAT)."""
        return self.turnover * self.b2b_share

    @property
    def public_sales(self) -> Decimal:
        """Sales on credit to public bodies."""
        return self.turnover * self.public_share

    def zone_share(self, zone: str) -> Decimal:
        """Share of credit sales made in ``zone``."""
        if zone == "eu":
            return self.export_eu
        if zone == "world":
            return self.export_world
        return ONE - self.export_eu - self.export_world

    def zone_sales(self, zone: str) -> Decimal:
        """Credit sales made in ``zone``."""
        return self.credit_sales * self.zone_share(zone)

    @property
    def largest_share(self) -> Decimal:
        """Share of turnover of the largest named client (0 when none)."""
        return max((b.share for b in self.top_buyers), default=Decimal(0))

    def buyer(self, name: str) -> Buyer | None:
        """The top buyer called ``name`` (case-insensitive), if any."""
        key = name.casefold()
        return next((b for b in self.top_buyers if b.name.casefold() == key), None)


def _parse_buyer(raw: Any, path: str) -> Buyer:
    obj = require_object(raw, path)
    reject_unknown(obj, ("name", "share", "grade", "zone"), path)
    return Buyer(
        name=read_str(obj, "name", path, max_length=120),
        share=read_decimal(obj, "share", path, low=0, high=1, low_open=True),
        grade=read_int(obj, "grade", path, default=None, low=1, high=10)
        if obj.get("grade") is not None
        else None,
        zone=read_choice(obj, "zone", path, ZONES, default="france"),
    )


def parse_profile(raw: Any, tariff: Tariff | None = None, path: str = "profile") -> Profile:
    """Check ``raw`` and return a :class:`Profile`; errors name the field at fault."""
    if tariff is None:
        from .tariff import load_tariff

        tariff = load_tariff()
    obj = require_object(raw, path)
    reject_unknown(obj, _PROFILE_FIELDS, path)
    turnover = read_decimal(obj, "turnover", path, low=0, high=MAX_TURNOVER, low_open=True)
    sector = read_choice(obj, "sector", path, tuple(tariff["sectors"]))
    b2b_share = read_decimal(obj, "b2b_share", path, default=ONE, low=0, high=1, low_open=True)
    public_share = read_decimal(obj, "public_share", path, default=Decimal(0), low=0, high=1)
    if b2b_share + public_share > ONE:
        raise InvalidCombination(
            join(path, "public_share"),
            f"la part des ventes aux acheteurs publics ({pct(public_share)}) et celle des ventes "
            f"aux entreprises ({pct(b2b_share)}) dépassent ensemble 100 %",
        )

    export_path = join(path, "export")
    export = require_object(obj.get("export") or {}, export_path)
    reject_unknown(export, ("eu", "world"), export_path)
    eu = read_decimal(export, "eu", export_path, default=Decimal(0), low=0, high=1)
    world = read_decimal(export, "world", export_path, default=Decimal(0), low=0, high=1)
    if eu + world > ONE:
        raise InvalidCombination(
            export_path,
            f"les parts export UE et monde ({pct(eu)} + {pct(world)}) dépassent 100 % des ventes à crédit",
        )

    buyers_path = join(path, "top_buyers")
    raw_buyers = read_list(obj, "top_buyers", path, default=[], max_items=50)
    buyers = tuple(_parse_buyer(b, join(buyers_path, i)) for i, b in enumerate(raw_buyers))
    seen: set[str] = set()
    for i, b in enumerate(buyers):
        if b.name.casefold() in seen:
            raise InvalidValue(join(join(buyers_path, i), "name"), f"le client « {b.name} » figure deux fois")
        seen.add(b.name.casefold())
    top_total = sum((b.share for b in buyers), Decimal(0))
    if top_total > b2b_share:
        raise InvalidCombination(
            buyers_path,
            f"la somme des parts des principaux clients ({pct(top_total)}) dépasse la part des ventes "
            f"à crédit aux entreprises ({pct(b2b_share)})",
        )
    zone_shares = {"france": ONE - eu - world, "eu": eu, "world": world}
    for zone in ZONES:
        in_zone = [i for i, b in enumerate(buyers) if b.zone == zone]
        zone_total = sum((buyers[i].share for i in in_zone), Decimal(0))
        if in_zone and zone_total > b2b_share * zone_shares[zone]:
            raise InvalidCombination(
                join(join(buyers_path, in_zone[-1]), "zone"),
                f"les principaux clients de la zone {zone} ({pct(zone_total)} du chiffre d'affaires) dépassent "
                f"les ventes à crédit de cette zone ({pct(b2b_share * zone_shares[zone])})",
            )

    buyers_count = read_int(obj, "buyers_count", path, default=max(20, len(buyers)), low=1, high=100000)
    if buyers_count < len(buyers):
        raise InvalidCombination(
            join(path, "buyers_count"),
            f"doit être au moins égal au nombre de principaux clients listés ({len(buyers)})",
        )
    if buyers_count == len(buyers) and top_total < b2b_share:
        raise InvalidCombination(
            join(path, "buyers_count"),
            f"tous vos clients sont listés mais leurs parts ({pct(top_total)}) ne font pas la part des ventes "
            f"à crédit aux entreprises ({pct(b2b_share)})",
        )
    terms = read_int(obj, "payment_terms_days", path, default=45, low=0, high=180)
    past_losses = read_decimal(obj, "past_losses", path, default=Decimal(0), low=0, high=3 * MAX_TURNOVER)
    if past_losses > 3 * turnover:
        raise InvalidCombination(
            join(path, "past_losses"),
            "des impayés sur 3 ans supérieurs à 3 ans de chiffre d'affaires sont impossibles",
        )
    age = read_decimal(obj, "company_age_years", path, default=Decimal(5), low=0, high=300)
    return Profile(
        turnover=turnover,
        b2b_share=b2b_share,
        sector=sector,
        export_eu=eu,
        export_world=world,
        buyers_count=buyers_count,
        top_buyers=buyers,
        payment_terms_days=terms,
        past_losses=past_losses,
        company_age_years=age,
        public_share=public_share,
    )
