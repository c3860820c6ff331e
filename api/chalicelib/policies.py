"""Policies as the API shows them, and who may see which."""

from __future__ import annotations

import datetime as dt

from . import services
from .auth import Identity
from .errors import NotFound
from .models import AddressOut, CompanyOut, ContactOut, MandateOut, PolicyList, PolicyOut, PremiumOut
from .storage import PolicyRecord

__all__ = [
    "NOTICE_MONTHS",
    "end_date",
    "get_visible_policy",
    "list_all",
    "list_mine",
    "mask_iban",
    "policy_out",
]

NOTICE_MONTHS = 2


def mask_iban(iban: str) -> str:
    """Only the last 4 characters: ``FR76…0189`` -> ``**** 0189``."""
    return "**** " + iban[-4:]


def end_date(start: dt.date) -> dt.date:
    """The last day of 12 months of cover from ``start``."""
    try:
        anniversary = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        anniversary = dt.date(start.year + 1, 3, 1)
    return anniversary - dt.timedelta(days=1)


def policy_out(p: PolicyRecord) -> PolicyOut:
    """The API view of a policy: the IBAN is masked, everything else as stored."""
    company = p.company
    return PolicyOut(
        policy_id=p.policy_id,
        policy_number=p.policy_id,
        status=p.status,  # type: ignore[arg-type]
        quote_id=p.quote_id,
        formula=p.formula,
        formula_label=p.formula_label,
        tariff_version=p.tariff_version,
        created_at=p.created_at,
        start_date=p.start_date,
        end_date=p.end_date,
        renewal="tacite",
        notice_months=NOTICE_MONTHS,
        company=CompanyOut(
            siren=company["siren"],
            siret=company.get("siret"),
            legal_name=company["legal_name"],
            address=AddressOut.model_validate(company["address"]),
        ),
        contact=ContactOut.model_validate(p.contact),
        iban_masked=mask_iban(p.iban),
        premium=PremiumOut.model_validate(p.premium),
        terms=p.terms,
        mandate=MandateOut(
            reference=p.mandate["reference"],
            signed_on=dt.date.fromisoformat(p.mandate["signed_on"]),
            scheme="SEPA CORE",
            iban_masked=mask_iban(p.iban),
        ),
        broker_id=p.broker_id,
    )


def get_visible_policy(identity: Identity, policy_id: str) -> PolicyRecord:
    """The policy if ``identity`` is staff or its owner; 404 otherwise (existence is not disclosed)."""
    record = services.get().policies.get(policy_id) if 0 < len(policy_id) <= 64 else None
    if record is None or not (
        "staff" in identity.groups or (record.owner_sub and record.owner_sub == identity.sub)
    ):
        raise NotFound("policy_not_found", "Contrat introuvable.")
    return record


def list_mine(identity: Identity, limit: int, cursor: str | None) -> PolicyList:
    """The caller's policies, newest first."""
    page = services.get().policies.list_by_owner(identity.sub, limit, cursor)
    return PolicyList(items=[policy_out(p) for p in page.items], next_token=page.next_token)


def list_all(status: str, limit: int, cursor: str | None) -> PolicyList:
    """Policies in ``status``, newest first (staff)."""
    page = services.get().policies.list_by_status(status, limit, cursor)
    return PolicyList(items=[policy_out(p) for p in page.items], next_token=page.next_token)
