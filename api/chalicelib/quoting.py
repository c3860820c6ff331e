"""Quotes: priced again on the server, stored with their request and frozen result, listed for staff."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from . import config, engine, services
from .errors import FieldError, NotFound, Unprocessable
from .models import EngineRequestOut, PremiumOut, QuoteIn, QuoteList, QuoteOut, mask_email
from .storage import QuoteRecord

__all__ = ["create_quote", "get_quote", "list_quotes", "new_quote_id", "quote_out", "replay"]

QUOTE_STATUSES = ("requested", "accepted", "expired")


def new_quote_id() -> str:
    """An unguessable id (128 random bits), prefixed so it never looks like an IBAN in logs."""
    return "q_" + secrets.token_urlsafe(16)


def engine_error(response: dict[str, Any]) -> Unprocessable:
    """The engine's refusal as a 422 naming the engine's field path."""
    error = response["error"]
    field = error.get("field") or ""
    return Unprocessable(
        error.get("code", "invalid_request"),
        error.get("message", "demande invalide"),
        [FieldError(field, error.get("message", ""))],
    )


def create_quote(data: QuoteIn, raw: dict[str, Any], now: dt.datetime) -> QuoteRecord:
    """Price ``raw``'s profile and options (never a client price), store and return the quote."""
    request = {"profile": raw["profile"], "options": raw.get("options") or {}}
    response = engine.quote(request["profile"], request["options"])
    if not response["ok"]:
        raise engine_error(response)
    record = QuoteRecord(
        quote_id=new_quote_id(),
        status="requested",
        created_at=now,
        expires_at=now + dt.timedelta(days=config.settings().quote_validity_days),
        tariff_version=response["tariff_version"],
        request=request,
        result=response["result"],
        contact_email=data.contact_email,
        broker_id=data.broker_id,
    )
    services.get().quotes.put(record)
    return record


def replay(record: QuoteRecord) -> dict[str, Any]:
    """The engine's response to the stored request under the stored tariff version."""
    return engine.quote(record.request["profile"], record.request["options"], record.tariff_version)


def quote_out(record: QuoteRecord, now: dt.datetime, staff: bool = False) -> QuoteOut:
    """The public view of a quote; the e-mail is masked except for staff."""
    return QuoteOut(
        quote_id=record.quote_id,
        status=record.effective_status(now),  # type: ignore[arg-type]
        created_at=record.created_at,
        expires_at=record.expires_at,
        tariff_version=record.tariff_version,
        formula=str(record.result.get("formula", "")),
        premium=PremiumOut.model_validate(record.result["premium"]),
        contact_email=record.contact_email if staff else mask_email(record.contact_email),
        broker_id=record.broker_id,
        request=EngineRequestOut(profile=record.request["profile"], options=record.request["options"]),
        result=record.result,
    )


def get_quote(quote_id: str) -> QuoteRecord:
    """The quote, or 404 (ids are unguessable; a malformed one is simply not found)."""
    record = services.get().quotes.get(quote_id) if 0 < len(quote_id) <= 100 else None
    if record is None:
        raise NotFound("quote_not_found", "Devis introuvable.")
    return record


def list_quotes(status: str, limit: int, cursor: str | None, now: dt.datetime) -> QuoteList:
    """A page of quotes by effective status, newest first (staff)."""
    page = services.get().quotes.list_by_status(status, now, limit, cursor)
    return QuoteList(items=[quote_out(q, now, staff=True) for q in page.items], next_token=page.next_token)
