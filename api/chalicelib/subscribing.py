"""Online subscription from a requested quote, idempotent and safe to retry.

Steps, each safe to repeat:

1. Claim the idempotency key (conditional put: in progress, hash of the
   body without the password). The same key with another body is a 409; a
   completed key replays its response; a key in progress is waited for; a
   failed attempt releases its claim, so that a retry runs again.
2. One DynamoDB transaction puts the policy (random readable number, checked
   by condition; SEPA mandate recorded in it; status ``pending_account``) and
   marks the quote accepted, on condition that it is still requested and
   unexpired. A failure writes nothing.
3. The owner's Cognito account is created (group ``owners``, the chosen
   password, permanent), then the policy is linked to it and turns ``active``.

If step 3 fails, the policy stays ``pending_account``, the claim is released
and the answer is 503 ``account_pending``: sending the same request again
(same key, or the same body without a key) finds the policy through its
quote and only finishes step 3. Nothing else is ever written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from . import clock, config, services
from .accounts import AccountExists, WeakPassword
from .errors import (
    ApiError,
    Conflict,
    FieldError,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
    is_aws_error,
)
from .logs import log_event
from .models import SubscriptionIn
from .policies import end_date, policy_out
from .services import Services
from .storage import PolicyNumberTaken, PolicyRecord, PolicyStateConflict, QuoteNotRequested, QuoteRecord

__all__ = ["START_WINDOW_DAYS", "Outcome", "request_hash", "subscribe"]

LOCK_SECONDS = 60
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
POLICY_NUMBER_ATTEMPTS = 5
START_WINDOW_DAYS = 90
POLL_SECONDS = 0.05
OWNER_GROUP = "owners"
FOREIGN_GROUPS = frozenset({"staff", "brokers"})


@dataclass(frozen=True)
class Outcome:
    """The answer to send: status, JSON body, and whether it is a replay."""

    status: int
    body: dict[str, Any]
    replayed: bool


def request_hash(data: SubscriptionIn) -> str:
    """SHA-256 of the normalised request without the password (a retry may change only the password)."""
    payload = data.model_dump(mode="json", exclude={"password"})
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def new_policy_number(now: dt.datetime) -> str:
    """``AC-2026-004217``: the year and 6 random digits (uniqueness is checked by the transaction)."""
    return f"AC-{now.year}-{secrets.randbelow(1_000_000):06d}"


def _conflict_accepted() -> Conflict:
    return Conflict(
        "quote_already_accepted",
        "Ce devis a déjà été souscrit.",
        [FieldError("quote_id", "devis déjà souscrit")],
    )


def _conflict_expired() -> Conflict:
    return Conflict(
        "quote_expired",
        "Ce devis a expiré : demandez un nouveau devis.",
        [FieldError("quote_id", "devis expiré")],
    )


def _account_exists() -> Conflict:
    return Conflict(
        "account_exists",
        "Un compte existe déjà avec cette adresse e-mail : utilisez une autre adresse ou contactez-nous.",
        [FieldError("contact.email", "adresse déjà utilisée par un compte")],
    )


def subscribe(data: SubscriptionIn, key: str | None, now: dt.datetime) -> Outcome:
    """Subscribe once per key (or per body when no key is given)."""
    svc = services.get()
    digest = request_hash(data)
    record_key = "subscriptions:" + (key if key else "body:" + digest)
    for _ in range(3):
        held = svc.idempotency.claim(
            record_key, digest, int(now.timestamp()), LOCK_SECONDS, IDEMPOTENCY_TTL_SECONDS
        )
        if held is None:
            return _run_claimed(svc, data, record_key, digest, now)
        outcome = _wait(svc, record_key, digest, held)
        if outcome is not None:
            return outcome
        now = clock.now()
    raise Conflict(
        "request_in_progress",
        "Une demande identique est en cours de traitement ; réessayez dans un instant.",
        headers={"Retry-After": "1"},
    )


def _run_claimed(
    svc: Services, data: SubscriptionIn, record_key: str, digest: str, now: dt.datetime
) -> Outcome:
    try:
        body = _subscribe(svc, data, digest, now)
    except BaseException:
        try:
            svc.idempotency.release(record_key, digest)
        except Exception as exc:  # the claim's lock expires on its own
            log_event("idempotency_release_failed", logging.WARNING, error_type=type(exc).__name__)
        raise
    try:
        svc.idempotency.complete(record_key, digest, 201, body)
    except Exception as exc:  # the policy is done; a retry finds it through its quote
        if not is_aws_error(exc):
            raise
        log_event("idempotency_complete_failed", logging.WARNING, error_type=type(exc).__name__)
    return Outcome(201, body, False)


def _wait(svc: Services, record_key: str, digest: str, held: Any) -> Outcome | None:
    """The replayed outcome of a held key; ``None`` once the claim is released (claim again)."""
    deadline = time.monotonic() + config.settings().idempotency_wait_seconds
    record = held
    while record is not None and record.status != "released":
        if record.body_hash != digest:
            raise Conflict(
                "idempotency_key_reused",
                "Cette clé d'idempotence a déjà servi pour une autre demande.",
                [FieldError("Idempotency-Key", "clé déjà utilisée avec un autre contenu")],
            )
        if record.status == "completed" and record.response is not None:
            return Outcome(record.status_code or 201, record.response, True)
        if time.monotonic() >= deadline:
            raise Conflict(
                "request_in_progress",
                "Une demande identique est en cours de traitement ; réessayez dans un instant.",
                headers={"Retry-After": "1"},
            )
        time.sleep(POLL_SECONDS)
        record = svc.idempotency.get(record_key)
    return None


def _check_start(start: dt.date, now: dt.datetime) -> None:
    today = clock.today_paris(now)
    if not today <= start <= today + dt.timedelta(days=START_WINDOW_DAYS):
        raise Unprocessable(
            "invalid_start_date",
            "La date d'effet doit être comprise entre aujourd'hui et 90 jours.",
            [
                FieldError(
                    "start_date",
                    f"doit être entre le {today.isoformat()} et le {(today + dt.timedelta(days=START_WINDOW_DAYS)).isoformat()}",
                )
            ],
        )


def _new_policy(data: SubscriptionIn, quote: QuoteRecord, digest: str, now: dt.datetime) -> PolicyRecord:
    number = new_policy_number(now)
    return PolicyRecord(
        policy_id=number,
        status="pending_account",
        quote_id=quote.quote_id,
        formula=str(quote.result["formula"]),
        formula_label=str(quote.result.get("label", quote.result["formula"])),
        tariff_version=quote.tariff_version,
        created_at=now,
        start_date=data.start_date,
        end_date=end_date(data.start_date),
        company=data.company.model_dump(mode="json"),
        contact=data.contact.model_dump(mode="json"),
        iban=data.iban,
        premium=dict(quote.result["premium"]),
        terms=dict(quote.result["terms"]),
        mandate={"reference": f"RUM-{number}", "signed_on": clock.today_paris(now).isoformat()},
        request_hash=digest,
        broker_id=quote.broker_id,
    )


def _subscribe(svc: Services, data: SubscriptionIn, digest: str, now: dt.datetime) -> dict[str, Any]:
    quote = svc.quotes.get(data.quote_id)
    if quote is None:
        raise NotFound("quote_not_found", "Devis introuvable.", [FieldError("quote_id", "devis introuvable")])
    if quote.status == "accepted":
        return _resume(svc, data, quote, digest, now)
    if quote.effective_status(now) == "expired":
        raise _conflict_expired()
    _check_start(data.start_date, now)
    if svc.accounts.find(data.contact.email) is not None:
        raise _account_exists()
    policy = _new_policy(data, quote, digest, now)
    for _ in range(POLICY_NUMBER_ATTEMPTS):
        try:
            svc.policies.create_from_quote(policy, now)
            break
        except PolicyNumberTaken:
            number = new_policy_number(now)
            policy = replace(
                policy, policy_id=number, mandate={**policy.mandate, "reference": f"RUM-{number}"}
            )
        except QuoteNotRequested:
            current = svc.quotes.get(quote.quote_id)
            if current is not None and current.status == "accepted":
                # A doubled request sent without a shared key won the race: finish the same policy.
                return _resume(svc, data, current, digest, now)
            raise _conflict_expired() from None
    else:  # pragma: no cover - five collisions in a million numbers
        raise ServiceUnavailable("policy_number_unavailable", "Numéro de contrat indisponible, réessayez.")
    log_event("policy_created", policy_id=policy.policy_id, quote_id=quote.quote_id)
    return _finish_account(svc, data, policy, now)


def _resume(
    svc: Services, data: SubscriptionIn, quote: QuoteRecord, digest: str, now: dt.datetime
) -> dict[str, Any]:
    """The quote is accepted: by this very request (finish it) or by another (409)."""
    policy = svc.policies.get(quote.policy_id) if quote.policy_id else None
    if policy is None or policy.request_hash != digest:
        raise _conflict_accepted()
    if policy.status == "active":
        return policy_out(policy).model_dump(mode="json")
    log_event("subscription_resumed", policy_id=policy.policy_id)
    return _finish_account(svc, data, policy, now)


def _finish_account(
    svc: Services, data: SubscriptionIn, policy: PolicyRecord, now: dt.datetime
) -> dict[str, Any]:
    """Create (or adopt the half-made) owner account, then activate the policy."""
    email = data.contact.email
    try:
        try:
            account = svc.accounts.create_owner(email, data.contact.first_name, data.contact.last_name)
        except AccountExists:
            found = svc.accounts.find(email)
            if found is None:
                raise
            # Adopt only an account that an earlier attempt of this subscription left behind.
            linked = svc.policies.list_by_owner(found.sub, 2, None).items
            if any(p.policy_id != policy.policy_id for p in linked) or FOREIGN_GROUPS & set(
                svc.accounts.groups(email)
            ):
                log_event("account_conflict", logging.WARNING, policy_id=policy.policy_id)
                raise _account_exists() from None
            account = found
        svc.accounts.set_password(email, data.password.get_secret_value())
        svc.accounts.add_to_group(email, OWNER_GROUP)
        svc.policies.activate(policy.policy_id, account.sub, now)
    except WeakPassword:
        raise Unprocessable(
            "weak_password",
            f"Votre contrat {policy.policy_id} est enregistré mais le mot de passe a été refusé : "
            "renvoyez la même demande avec un autre mot de passe.",
            [FieldError("password", "mot de passe refusé par la politique de sécurité")],
        ) from None
    except PolicyStateConflict:
        raise _conflict_accepted() from None
    except ApiError:
        raise
    except Exception as exc:
        if not is_aws_error(exc) and not isinstance(exc, AccountExists):
            raise
        log_event(
            "account_pending", logging.WARNING, policy_id=policy.policy_id, error_type=type(exc).__name__
        )
        raise ServiceUnavailable(
            "account_pending",
            f"Votre contrat {policy.policy_id} est enregistré, mais votre espace assuré n'a pas pu être créé : "
            "renvoyez la même demande (même clé d'idempotence) pour terminer.",
            headers={"Retry-After": "2"},
        ) from None
    log_event("policy_activated", policy_id=policy.policy_id)
    return policy_out(replace(policy, status="active", owner_sub=account.sub, activated_at=now)).model_dump(
        mode="json"
    )
