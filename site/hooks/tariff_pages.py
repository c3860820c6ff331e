"""MkDocs hook: every page's Markdown goes through Jinja2 with the tariff in the context.

Pages write ``{{ tariff.formulas.essentielle.minimum_premium | euros }}`` or loop over
tariff tables, so the figures the site shows are the engine's own data
(``simulator.load_tariff()``) and cannot drift from it. An undefined name fails the build.

Filters (French notation: comma decimal, narrow no-break space between thousands):
``fr_num``, ``euros``, ``signed_euros``, ``pct`` (a number already in percent), ``share``
(a fraction shown in percent), ``permille``, ``factor``, ``fr_date``. Functions: ``bands``,
``option_factor`` and ``quote``; the last two ask the engine itself.

It also publishes ``site/assets/`` (outside ``docs_dir``) under ``assets/``.

Every page is a template: write no ``{{``, ``{%`` or ``{#`` in a page unless meant for Jinja2.
"""

from __future__ import annotations

import datetime as dt
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import jinja2
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

try:
    import simulator
except ModuleNotFoundError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import simulator

ASSETS = Path(__file__).resolve().parents[1] / "assets"  # site/assets: CSS and JS outside docs_dir
NNBSP = "\u202f"  # narrow no-break space: thousands separator
NBSP = "\u00a0"  # no-break space: before €, %, ‰ and after ×
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# Profile used to read option factors from the engine (every option factor is independent of it).
_PROBE_PROFILE = {"turnover": 500000, "sector": "services", "top_buyers": [{"name": "A", "share": 0.3}]}

Number = Decimal | int | float | str


def _decimal(value: Number) -> Decimal:
    """``value`` as a Decimal; a float goes through its shortest text (0.2 -> 0.2, not 0.2000000000000000111)."""
    return Decimal(str(value)) if isinstance(value, float) else Decimal(value)


def fr_num(value: Number, decimals: int | None = None) -> str:
    """``Decimal('12345.5')`` -> ``12 345,5``; ``decimals`` rounds half up to that many places."""
    number = _decimal(value)
    if decimals is not None:
        number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = format(number, "f")
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return sign + NNBSP.join(groups) + ("," + frac if frac else "")


def _plain(value: Decimal) -> str:
    """A number without trailing zeros: ``Decimal('3.500')`` -> ``3,5``."""
    return fr_num(format(value.normalize(), "f"))


def euros(value: Number, cents: bool = False) -> str:
    """An amount: ``450`` -> ``450 €``, ``41.4`` -> ``41,40 €``; ``cents`` always shows them."""
    amount = _decimal(value)
    whole = amount == amount.to_integral_value()
    return fr_num(amount, 0 if whole and not cents else 2) + NBSP + "€"


def signed_euros(value: Number) -> str:
    """An effect on the premium: ``+ 41,40 €``, ``− 12,00 €`` or ``0,00 €``."""
    amount = _decimal(value)
    if amount == 0:
        return euros(0, cents=True)
    return ("+" if amount > 0 else "−") + NBSP + euros(abs(amount), cents=True)


def pct(value: Number) -> str:
    """A number already in percent: ``60`` -> ``60 %``."""
    return _plain(_decimal(value)) + NBSP + "%"


def share(value: Number) -> str:
    """A fraction in percent: ``0.035`` -> ``3,5 %``."""
    return pct(_decimal(value) * 100)


def permille(value: Number) -> str:
    """A rate per thousand: ``1.60`` -> ``1,60 ‰``."""
    return fr_num(value) + NBSP + "‰"


def factor(value: Number) -> str:
    """A multiplier, with at least two decimals: ``1.45`` -> ``× 1,45``, ``1`` -> ``× 1,00``."""
    number = _decimal(value)
    return "×" + NBSP + fr_num(number, max(2, -number.as_tuple().exponent))


def fr_date(value: str) -> str:
    """An ISO date in French: ``2026-11-26`` -> ``26 novembre 2026``."""
    day = dt.date.fromisoformat(value)
    return f"{day.day}{'er' if day.day == 1 else ''} {_MONTHS[day.month - 1]} {day.year}"


def bands(table: str, unit: str) -> list[dict[str, Any]]:
    """Rows ``{"label", "factor"}`` of a banded tariff table, in words.

    ``unit`` is ``"share"`` for fractions shown in percent, else a French unit
    (``"clients"``, ``"ans"``, ``"jours"``) for whole numbers.
    """

    def show(bound: Number) -> str:
        return share(bound) if unit == "share" else f"{fr_num(bound)}{NBSP}{unit}"

    rows = []
    previous: Number | None = None
    for band in simulator.load_tariff()[table]["bands"]:
        if "below" in band:
            limit = band["below"]
            if limit is None:
                label = f"{show(previous)} ou plus" if previous is not None else "toutes valeurs"
            elif previous is None:
                label = f"moins de {show(limit)}"
            else:
                label = f"de {show(previous)} à moins de {show(limit)}"
        else:
            limit = band["up_to"]
            if limit is None:
                label = f"plus de {show(previous)}" if previous is not None else "toutes valeurs"
            elif previous is None:
                label = f"jusqu'à {show(limit)}"
            else:
                label = f"de {fr_num(int(previous) + 1)} à {show(limit)}"
        rows.append({"label": label, "factor": band["factor"]})
        previous = limit
    return rows


def quote(profile: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """The engine's quote (``result`` of the ``quote`` operation); a refused request fails the build."""
    answer = simulator.handle({"op": "quote", "profile": profile, "options": options})
    if not answer["ok"]:
        raise ValueError(f"exemple refusé par le moteur : {answer['error']}")
    return answer["result"]


def option_factor(formula: str, option: str, value: Any) -> Decimal:
    """The multiplier the engine applies for ``option`` = ``value`` under ``formula``."""
    result = quote(_PROBE_PROFILE, {"formula": formula, option: value})
    step = next(s for s in result["explanation"] if s["factor"] == option)
    return Decimal(step["value"].removeprefix("×").strip().replace(NNBSP, "").replace(",", "."))


FILTERS = {
    "fr_num": fr_num,
    "euros": euros,
    "signed_euros": signed_euros,
    "pct": pct,
    "share": share,
    "permille": permille,
    "factor": factor,
    "fr_date": fr_date,
}


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, not HTML: the tariff data is the project's own
    )
    env.filters.update(FILTERS)
    env.globals.update(tariff=simulator.load_tariff(), bands=bands, quote=quote, option_factor=option_factor)
    return env


_ENV = _environment()


def on_env(env: jinja2.Environment, config: Any, files: Any) -> jinja2.Environment:
    """The theme's templates get ``tariff`` and the French filters too (existing names win)."""
    env.globals.setdefault("tariff", simulator.load_tariff())
    for name, function in FILTERS.items():
        env.filters.setdefault(name, function)
    return env


def on_files(files: Files, config: Any) -> Files:
    """Publish every file of ``site/assets/`` under ``assets/``, unless a page or hook already did."""
    for path in sorted(p for p in ASSETS.rglob("*") if p.is_file()):
        src_uri = "assets/" + path.relative_to(ASSETS).as_posix()
        if files.get_file_from_path(src_uri) is None:
            files.append(File.generated(config, src_uri, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Render the page's Markdown as a Jinja2 template with the tariff in the context."""
    try:
        return _ENV.from_string(markdown).render(page=page)
    except (jinja2.TemplateError, ValueError, LookupError) as error:
        raise PluginError(f"{page.file.src_uri} : {error}") from error
