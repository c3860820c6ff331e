"""The printable French attestation of cover (HTML with print CSS).

Every value from the policy goes through :func:`html.escape`; the page
loads nothing from outside (inline CSS only, no script).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from string import Template
from typing import Any

from .storage import PolicyRecord

__all__ = ["INSURER", "render"]

INSURER = "Assurance-crédit TPE (plateforme open source de démonstration)"
ZONES = {"france": "France", "eu": "Union européenne", "world": "Reste du monde"}

_PAGE = Template("""<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attestation d'assurance-crédit $number</title>
<style>
  @page { size: A4; margin: 18mm 16mm; }
  :root { color-scheme: light; }
  body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  header { border-bottom: 2px solid #1b4f72; margin-bottom: 1.2rem; padding-bottom: .6rem; }
  h1 { font-size: 1.5rem; margin: 0 0 .3rem; color: #1b4f72; }
  h2 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; color: #1b4f72; }
  dl { display: grid; grid-template-columns: 14rem 1fr; gap: .25rem 1rem; margin: 0; }
  dt { font-weight: 600; }
  dd { margin: 0; }
  table { border-collapse: collapse; width: 100%; font-size: .95em; }
  th, td { border: 1px solid #999; padding: .3rem .5rem; text-align: left; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .note { font-size: .85em; color: #444; margin-top: 1.6rem; }
  .print { margin: 1rem 0; }
  @media print {
    body { margin: 0; max-width: none; padding: 0; }
    .print { display: none; }
    h2, table, dl { break-inside: avoid; }
    a { color: inherit; text-decoration: none; }
  }
</style>
</head>
<body>
<header>
<h1>Attestation d'assurance-crédit</h1>
<p>$insurer atteste que l'entreprise désignée ci-dessous est titulaire du contrat d'assurance-crédit
n<sup>o</sup>&nbsp;<strong>$number</strong>$status_note.</p>
</header>
<h2>Assuré</h2>
<dl>
<dt>Raison sociale</dt><dd>$legal_name</dd>
<dt>SIREN</dt><dd>$siren</dd>
<dt>Adresse</dt><dd>$address</dd>
</dl>
<h2>Contrat</h2>
<dl>
<dt>Formule</dt><dd>$formula</dd>
<dt>Période de garantie</dt><dd>du $start au $end</dd>
<dt>Renouvellement</dt><dd>tacite, par périodes de 12 mois, sauf résiliation notifiée au moins 2 mois avant l'échéance</dd>
<dt>Quotité garantie</dt><dd>$indemnity_pct&nbsp;%</dd>
<dt>Plafond d'indemnisation annuel</dt><dd>$max_liability</dd>
<dt>Franchise par sinistre</dt><dd>$deductible</dd>
<dt>Zones couvertes</dt><dd>$zones</dd>
<dt>Garantie automatique</dt><dd>$automatic</dd>
<dt>Version du tarif</dt><dd>$tariff_version</dd>
</dl>
$limits
<p class="print">Pour l'imprimer ou l'enregistrer en PDF, utilisez la commande Imprimer de votre navigateur.</p>
<p>Fait le $issued, pour servir et valoir ce que de droit.</p>
<p class="note">La présente attestation ne peut engager l'assureur au-delà des conditions générales et particulières
du contrat auxquelles elle se réfère. Tarif et document illustratifs, sans valeur d'offre.</p>
</body>
</html>
""")


def _date(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def _money(amount: Any) -> str:
    """``"12345.50"`` -> ``12 345,50 €``."""
    text = f"{Decimal(str(amount or 0)):,.2f}"
    return text.replace(",", "\u202f").replace(".", ",") + "\u00a0€"


def _limits(limits: Sequence[tuple[str, str, Decimal]], issued: dt.date) -> str:
    if not limits:
        return ""
    body = "".join(
        f'<tr><td>{escape(name)}</td><td>{escape(ZONES.get(zone, zone))}</td><td class="num">{escape(_money(amount))}</td></tr>'
        for name, zone, amount in limits
    )
    return (
        f"<h2>Clients dénommés : limites de crédit en vigueur le {_date(issued)}</h2>\n<table><thead><tr>"
        "<th>Client</th><th>Zone</th><th>Limite de crédit</th></tr></thead><tbody>"
        + body
        + "</tbody></table>"
    )


def render(policy: PolicyRecord, issued: dt.date, limits: Sequence[tuple[str, str, Decimal]] = ()) -> str:
    """The attestation page of ``policy``, dated ``issued``, with the ``(buyer, zone, limit)`` in force."""
    terms = policy.terms
    company = policy.company
    address = company.get("address", {})
    lines = [
        address.get("line1"),
        address.get("line2"),
        f"{address.get('postal_code', '')} {address.get('city', '')}",
    ]
    siren = str(company.get("siren", ""))
    automatic = (
        f"clients non dénommés jusqu'à {_money(terms.get('automatic_threshold'))} d'encours"
        if terms.get("automatic_cover")
        else "non (seuls les clients dénommés sont couverts)"
    )
    values = {
        "insurer": INSURER,
        "number": policy.policy_id,
        "status_note": "" if policy.status == "active" else " (ouverture de l'espace assuré en cours)",
        "legal_name": company.get("legal_name", ""),
        "siren": f"{siren[:3]} {siren[3:6]} {siren[6:]}",
        "formula": policy.formula_label,
        "start": _date(policy.start_date),
        "end": _date(policy.end_date),
        "indemnity_pct": str(terms.get("indemnity_pct", "")).replace(".", ","),
        "max_liability": _money(terms.get("max_liability")),
        "deductible": _money(terms.get("deductible")),
        "zones": ", ".join(ZONES.get(z, z) for z in terms.get("covered_zones", [])),
        "automatic": automatic,
        "tariff_version": policy.tariff_version,
        "issued": _date(issued),
    }
    escaped = {k: escape(str(v)) for k, v in values.items()}
    escaped["address"] = "<br>".join(escape(str(line)) for line in lines if line)
    escaped["limits"] = _limits(limits, issued)
    return _PAGE.substitute(escaped)
