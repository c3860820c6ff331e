"""Buyers, credit limits, the buyer register and monitoring alerts: the business steps.

Auto-decision of a limit request is data (``LIMIT_RULES`` and the settings
``LIMIT_AUTO_MAX_GRADE``, ``LIMIT_AUTO_CAP``): at once when the amount is
within the policy's automatic threshold (automatic cover), or when the
register's grade is good enough and the amount within the cap; otherwise
the request is referred to staff.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from . import clock, config, notify, services
from .auth import Identity
from .errors import Conflict, FieldError, NotFound, Unprocessable
from .models import (
    EU_COUNTRIES,
    AlertList,
    AlertOut,
    BuyerIn,
    BuyerList,
    BuyerOut,
    LimitCancelIn,
    LimitDecisionIn,
    LimitReduceIn,
    LimitRequestList,
    LimitRequestOut,
    LimitStepOut,
    RegisterEntryOut,
    RegisterEventIn,
    RegisterEventOut,
    RegisterEventResult,
    RegisterIn,
    vat_country,
)
from .policies import get_visible_policy
from .prevention_storage import (
    AlertRecord,
    BuyerExists,
    BuyerRecord,
    LimitRequestRecord,
    RegisterEntry,
    RequestAlreadyDecided,
    StaleBuyer,
)
from .storage import PolicyRecord, iso

__all__ = [
    "add_buyer",
    "buyer_out",
    "change_limit",
    "decide_request",
    "get_register_entry",
    "get_visible_buyer",
    "list_buyers",
    "list_my_alerts",
    "list_requests",
    "normalise_identifier",
    "put_register_entry",
    "record_event",
    "request_limit",
    "zone_of",
]

# Why a request was decided at once (shown to the owner).
LIMIT_RULES = {
    "automatic_threshold": "Montant dans le seuil de garantie automatique de votre contrat : accordé d'office.",
    "good_grade": "Client bien noté au registre : limite accordée d'office.",
    "referred": "Demande transmise à un gestionnaire, qui vous répondra sous 48 heures ouvrées.",
}
EVENT_LABELS = {
    "payment_incident": "incident de paiement",
    "insolvency_judgment": "jugement d'ouverture d'une procédure collective",
}


def zone_of(country: str) -> str:
    """The engine's zone of a country."""
    if country == "FR":
        return "france"
    return "eu" if country in EU_COUNTRIES else "world"


def normalise_identifier(text: str) -> tuple[str, str] | None:
    """``(identifier, type)`` of a SIREN or an EU VAT number, ``None`` if it is neither."""
    from stdnum.eu import vat
    from stdnum.fr import siren

    if not 0 < len(text) <= 32:
        return None
    if siren.is_valid(text):
        return str(siren.compact(text)), "siren"
    if vat.is_valid(text) and not str(vat.compact(text)).startswith("FR"):
        return str(vat.compact(text)), "vat"
    return None


def _active(policy: PolicyRecord) -> None:
    if policy.status != "active":
        raise Conflict("policy_not_active", "Le contrat n'est pas actif.")


def buyer_out(b: BuyerRecord, today: dt.date) -> BuyerOut:
    """The API view of a buyer."""
    current = b.limit_on(today)
    return BuyerOut(
        policy_id=b.policy_id,
        buyer_id=b.buyer_id,
        identifier=b.identifier,
        identifier_type=b.identifier_type,  # type: ignore[arg-type]
        name=b.name,
        country=b.country,
        zone=b.zone,  # type: ignore[arg-type]
        public=b.public,
        created_at=b.created_at,
        current_limit=None if current is None else str(current),
        limits=[LimitStepOut.model_validate(step) for step in b.limits],
    )


def add_buyer(identity: Identity, policy_id: str, data: BuyerIn, now: dt.datetime) -> BuyerOut:
    """Name a buyer on the owner's policy; public bodies only if the policy covers them."""
    policy = get_visible_policy(identity, policy_id)
    _active(policy)
    if data.siren is not None:
        identifier, kind, country = data.siren, "siren", "FR"
        public = identifier[0] in "12"
        if public and not policy.terms.get("public_buyers"):
            raise Unprocessable(
                "public_buyer_not_covered",
                "Les acheteurs publics ne sont pas couverts par votre contrat.",
                [FieldError("siren", "organisme public (SIREN commençant par 1 ou 2) : exclu sauf option")],
            )
    else:
        assert data.vat_number is not None
        identifier, kind, country, public = data.vat_number, "vat", vat_country(data.vat_number), False
    if kind == "siren" and identifier == str(policy.company.get("siren", "")):
        raise Unprocessable(
            "own_company",
            "Votre propre entreprise ne peut pas être désignée comme client.",
            [FieldError("siren", "c'est le SIREN de l'assuré : les ventes à soi-même ne sont pas couvertes")],
        )
    buyer = BuyerRecord(
        policy_id=policy.policy_id,
        buyer_id=identifier,
        identifier=identifier,
        identifier_type=kind,
        name=data.name,
        country=country,
        zone=zone_of(country),
        public=public,
        created_at=now,
    )
    try:
        services.get().buyers.create(buyer)
    except BuyerExists:
        raise Conflict(
            "buyer_exists",
            "Ce client est déjà désigné sur votre contrat.",
            [FieldError(kind if kind == "siren" else "vat_number", "client déjà désigné")],
        ) from None
    return buyer_out(buyer, clock.today_paris(now))


def get_visible_buyer(identity: Identity, policy_id: str, buyer_id: str) -> tuple[PolicyRecord, BuyerRecord]:
    """The policy and its buyer, for its owner or staff; 404 otherwise."""
    policy = get_visible_policy(identity, policy_id)
    buyer = services.get().buyers.get(policy.policy_id, buyer_id) if 0 < len(buyer_id) <= 32 else None
    if buyer is None:
        raise NotFound("buyer_not_found", "Client introuvable sur ce contrat.")
    return policy, buyer


def list_buyers(identity: Identity, policy_id: str, now: dt.datetime) -> BuyerList:
    """The buyers of a policy."""
    policy = get_visible_policy(identity, policy_id)
    today = clock.today_paris(now)
    return BuyerList(
        items=[buyer_out(b, today) for b in services.get().buyers.list_by_policy(policy.policy_id)]
    )


def request_out(r: LimitRequestRecord) -> LimitRequestOut:
    """The API view of a limit request."""
    return LimitRequestOut(
        request_id=r.request_id,
        policy_id=r.policy_id,
        buyer_id=r.buyer_id,
        buyer_name=r.buyer_name,
        amount=str(r.amount),
        status=r.status,  # type: ignore[arg-type]
        rule=r.rule,
        grade=r.grade,
        created_at=r.created_at,
        decided_amount=None if r.decided_amount is None else str(r.decided_amount),
        decided_at=r.decided_at,
        reason=r.reason,
    )


def _auto_rule(policy: PolicyRecord, amount: Decimal, entry: RegisterEntry | None) -> str:
    terms = policy.terms
    if terms.get("automatic_cover") and amount <= Decimal(str(terms.get("automatic_threshold") or 0)):
        return "automatic_threshold"
    settings = config.settings()
    if (
        entry is not None
        and entry.grade is not None
        and entry.grade <= settings.limit_auto_max_grade
        and amount <= Decimal(settings.limit_auto_cap)
        and entry.insolvency() is None
    ):
        return "good_grade"
    return "referred"


def request_limit(
    identity: Identity, policy_id: str, buyer_id: str, amount: Decimal, now: dt.datetime
) -> LimitRequestOut:
    """Ask for a limit: decided at once where the rules allow, otherwise referred to staff."""
    policy, buyer = get_visible_buyer(identity, policy_id, buyer_id)
    _active(policy)
    svc = services.get()
    entry = svc.register.get(buyer.identifier)
    rule = _auto_rule(policy, amount, entry)
    request = LimitRequestRecord(
        request_id="lr_" + secrets.token_urlsafe(12),
        policy_id=policy.policy_id,
        buyer_id=buyer.buyer_id,
        buyer_name=buyer.name,
        amount=amount,
        status="referred" if rule == "referred" else "approved",
        created_at=now,
        requested_by=identity.sub,
        rule=rule,
        grade=entry.grade if entry else None,
    )
    step = None
    if rule != "referred":
        request.decided_amount, request.decided_at, request.reason = amount, now, LIMIT_RULES[rule]
        step = _step("approved", amount, clock.today_paris(now), now, "system", request, rule=rule)
    for _ in range(3):
        try:
            svc.limit_requests.create(request, step)
            break
        except StaleBuyer:
            continue
    else:  # pragma: no cover - needs three concurrent changes of the buyer
        raise Conflict("buyer_busy", "Le client vient d'être modifié : réessayez.")
    if step is not None:
        notify.limit_decided(
            policy.policy_id, buyer.name, "approved", amount, request.reason, step["effective_from"]
        )
    return request_out(request)


def _step(
    kind: str,
    amount: Decimal,
    effective_from: dt.date,
    now: dt.datetime,
    by_role: str,
    request: LimitRequestRecord | None = None,
    *,
    rule: str | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    step: dict[str, Any] = {
        "kind": kind,
        "amount": str(amount),
        "effective_from": effective_from.isoformat(),
        "at": iso(now),
        "by_role": by_role,
    }
    if rule is not None:
        step["rule"] = rule
    if reason is not None or request is not None:
        step["reason"] = reason if reason is not None else request.reason if request else None
    if request is not None:
        step["request_id"] = request.request_id
    return step


def list_requests(status: str, limit: int, cursor: str | None) -> LimitRequestList:
    """Limit requests in ``status``, oldest first (staff)."""
    page = services.get().limit_requests.list_by_status(status, limit, cursor)
    return LimitRequestList(items=[request_out(r) for r in page.items], next_token=page.next_token)


def decide_request(
    identity: Identity, request_id: str, data: LimitDecisionIn, now: dt.datetime
) -> LimitRequestOut:
    """Staff decide a referred request, once."""
    svc = services.get()
    request = svc.limit_requests.get(request_id) if 0 < len(request_id) <= 64 else None
    if request is None:
        raise NotFound("limit_request_not_found", "Demande de limite introuvable.")
    already = Conflict("limit_request_decided", "Cette demande a déjà été décidée.")
    if request.status != "referred":
        raise already
    if data.decision == "approved":
        amount = request.amount
    elif data.decision == "refused":
        amount = Decimal("0.00")
    else:
        if data.amount is None or data.amount >= request.amount:
            raise Unprocessable(
                "validation_error",
                "La demande contient des champs invalides.",
                [FieldError("amount", f"accord partiel : un montant inférieur à {request.amount} euros")],
            )
        amount = data.amount
    request.status, request.decided_amount, request.decided_at = data.decision, amount, now
    request.decided_by, request.reason = identity.sub, data.reason
    step = _step(data.decision, amount, clock.today_paris(now), now, "staff", request)
    for _ in range(3):
        try:
            svc.limit_requests.decide(request, step)
            notify.limit_decided(
                request.policy_id,
                request.buyer_name,
                data.decision,
                amount,
                data.reason,
                step["effective_from"],
            )
            return request_out(request)
        except RequestAlreadyDecided:
            raise already from None
        except StaleBuyer:
            continue
    raise Conflict("buyer_busy", "Le client vient d'être modifié : réessayez.")  # pragma: no cover


def change_limit(
    identity: Identity,
    policy_id: str,
    buyer_id: str,
    data: LimitReduceIn | LimitCancelIn,
    now: dt.datetime,
) -> BuyerOut:
    """Staff reduce or cancel a limit for deliveries from the notice date on."""
    svc = services.get()
    today = clock.today_paris(now)
    if data.notice_date < today:
        raise Unprocessable(
            "validation_error",
            "La demande contient des champs invalides.",
            [
                FieldError(
                    "notice_date", "seules les livraisons futures sont concernées : aujourd'hui ou plus tard"
                )
            ],
        )
    for _ in range(3):
        _, buyer = get_visible_buyer(identity, policy_id, buyer_id)
        current = buyer.limit_on(data.notice_date)
        if current is None or current == 0:
            raise Conflict("no_limit", "Ce client n'a pas de limite de crédit à réduire ou résilier.")
        if isinstance(data, LimitReduceIn):
            if data.amount >= current:
                raise Unprocessable(
                    "validation_error",
                    "La demande contient des champs invalides.",
                    [FieldError("amount", f"doit être inférieur à la limite actuelle ({current} euros)")],
                )
            step = _step("reduced", data.amount, data.notice_date, now, "staff", reason=data.reason)
        else:
            step = _step("cancelled", Decimal("0.00"), data.notice_date, now, "staff", reason=data.reason)
        try:
            svc.buyers.add_limit_step(buyer, step)
        except StaleBuyer:
            continue
        buyer.limits.append(step)
        notify.limit_decided(
            policy_id, buyer.name, step["kind"], step["amount"], data.reason, step["effective_from"]
        )
        return buyer_out(buyer, today)
    raise Conflict("buyer_busy", "Le client vient d'être modifié : réessayez.")  # pragma: no cover


def limits_in_force(policy_id: str, day: dt.date) -> list[tuple[str, str, Decimal]]:
    """``(buyer name, zone, limit)`` of the policy's buyers with a limit above zero on ``day``."""
    found = []
    for buyer in services.get().buyers.list_by_policy(policy_id):
        limit = buyer.limit_on(day)
        if limit:
            found.append((buyer.name, buyer.zone, limit))
    return sorted(found, key=lambda row: row[0].casefold())


def buyers_in_register(identifier: str, now: dt.datetime) -> BuyerList:
    """Every policy naming this company, with its limit there (staff: exposure, reduce or cancel)."""
    svc = services.get()
    key = _identifier(identifier)
    today = clock.today_paris(now)
    found = (svc.buyers.get(policy_id, buyer_id) for policy_id, buyer_id, _ in svc.buyers.policies_with(key))
    return BuyerList(items=[buyer_out(b, today) for b in found if b is not None])


def _register_out(entry: RegisterEntry) -> RegisterEntryOut:
    return RegisterEntryOut(
        identifier=entry.identifier,
        name=entry.name,
        country=entry.country,
        grade=entry.grade,
        updated_at=entry.updated_at,
        events=[RegisterEventOut.model_validate(e) for e in entry.events],
    )


def _identifier(text: str) -> str:
    found = normalise_identifier(text)
    if found is None:
        raise Unprocessable(
            "validation_error",
            "La demande contient des champs invalides.",
            [FieldError("identifier", "ni un SIREN ni un numéro de TVA intracommunautaire valide")],
        )
    return found[0]


def get_register_entry(identifier: str) -> RegisterEntryOut:
    """A company of the register (staff)."""
    entry = services.get().register.get(_identifier(identifier))
    if entry is None:
        raise NotFound("register_entry_not_found", "Entreprise introuvable au registre.")
    return _register_out(entry)


def put_register_entry(identifier: str, data: RegisterIn, now: dt.datetime) -> RegisterEntryOut:
    """Create or edit a company of the register (staff); its events are kept."""
    key = _identifier(identifier)
    register = services.get().register
    register.put(
        RegisterEntry(identifier=key, name=data.name, country=data.country, grade=data.grade, updated_at=now)
    )
    entry = register.get(key)
    assert entry is not None
    return _register_out(entry)


def record_event(identifier: str, data: RegisterEventIn, now: dt.datetime) -> RegisterEventResult:
    """Record a monitoring event and alert every owner who named this buyer."""
    svc = services.get()
    key = _identifier(identifier)
    event = {"type": data.type, "date": data.date.isoformat(), "kind": data.kind, "recorded_at": iso(now)}
    entry = svc.register.add_event(key, event, now)
    if entry is None:
        raise NotFound("register_entry_not_found", "Entreprise introuvable au registre.")
    sent = 0
    label = EVENT_LABELS[data.type] + (f" ({data.kind})" if data.kind else "")
    for policy_id, buyer_id, name in svc.buyers.policies_with(key):
        policy = svc.policies.get(policy_id)
        if policy is None or not policy.owner_sub:
            continue
        alert = AlertRecord(
            owner_sub=policy.owner_sub,
            alert_id=f"{iso(now)}#{secrets.token_hex(4)}",
            created_at=now,
            policy_id=policy_id,
            buyer_id=buyer_id,
            buyer_name=name,
            event=event,
            message=f"Surveillance : {label} le {data.date.strftime('%d/%m/%Y')} pour votre client {name}. "
            "Déclarez vos factures impayées sur ce client dans les délais de votre contrat.",
        )
        svc.alerts.put(alert)
        notify.alert(policy_id, name, alert.message)
        sent += 1
    return RegisterEventResult(entry=_register_out(entry), alerts_sent=sent)


def list_my_alerts(identity: Identity, limit: int, cursor: str | None) -> AlertList:
    """The caller's alerts, newest first."""
    page = services.get().alerts.list_by_owner(identity.sub, limit, cursor)
    return AlertList(
        items=[
            AlertOut(
                alert_id=a.alert_id,
                created_at=a.created_at,
                policy_id=a.policy_id,
                buyer_id=a.buyer_id,
                buyer_name=a.buyer_name,
                event=RegisterEventOut.model_validate(a.event),
                message=a.message,
            )
            for a in page.items
        ],
        next_token=page.next_token,
    )
