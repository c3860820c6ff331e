"""E-mails to the owner through SES (moto records them): limit decisions, alerts, each claim step, the indemnity."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from .claims_helpers import GOOD, POOR, add_buyer, declaration, insured_with_limit, owner_of
from .conftest import IBAN, IBAN_SPACED, REGION, body_of

SENDER = "notifications@assurcredit.test"
OWNER_EMAIL = "jeanne.dupont@example.fr"  # the subscription's contact


def _sent() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


@pytest.fixture
def mails(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[Any]]:
    """A verified sender in ``MAIL_FROM``; ``mails()`` -> the messages sent since."""
    from chalicelib import config

    from infra.resources import verify_mail_sender

    env = verify_mail_sender(region=REGION, address=SENDER)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.reset()
    before = len(_sent())
    return lambda: _sent()[before:]


def _to_owner(message: Any) -> None:
    assert message.source == SENDER
    assert message.destinations["ToAddresses"] == [OWNER_EMAIL]
    for secret in (IBAN, IBAN_SPACED, IBAN[:4] + " ", "IBAN masqué"):
        assert secret not in message.body
        assert secret not in message.subject


@pytest.fixture
def setup(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any, mails: Any
) -> dict[str, Any]:
    return insured_with_limit(client, tokens, aws, policy, monkeypatch)


def test_a_claim_step_sends_one_mail_to_the_owner_without_iban(
    client: Any, setup: dict[str, Any], mails: Callable[[], list[Any]]
) -> None:
    start, staff = setup["start"], setup["staff"]
    judgment = (start + dt.timedelta(days=55)).isoformat()
    body = declaration(GOOD, start, event={"type": "insolvency", "date": judgment})
    claim = body_of(client.post(f"/policies/{setup['pid']}/declarations", body, token=setup["owner"]))
    cid = claim["claim_id"]
    declared = [m for m in mails() if cid in m.subject]
    assert len(declared) == 1
    assert "recouvrement en cours" in declared[0].subject
    before = len(mails())
    assert client.post(f"/claims/{cid}/establish", None, token=staff).status_code == 200
    (step,) = mails()[before:]
    _to_owner(step)
    assert "Sinistre constitué" in step.subject
    assert cid in step.body
    assert "F-2026-001" in step.body
    assert "6 000,00 €" in step.body
    # The indemnity: one mail with the amount the engine computed.
    before = len(mails())
    settled = body_of(client.post(f"/claims/{cid}/settle", None, token=staff))
    (paid,) = mails()[before:]
    _to_owner(paid)
    assert "Indemnité réglée" in paid.subject
    amount = f"{float(settled['indemnity']):,.2f}".replace(",", " ").replace(".", ",")
    assert f"Indemnité : {amount} €" in paid.body


def test_limit_decisions_and_alerts_are_mailed_to_the_owner(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], mails: Callable[[], list[Any]]
) -> None:
    pid = policy["policy_id"]
    owner, staff = owner_of(client, tokens, aws, policy), tokens("staff")
    add_buyer(client, pid, owner)
    client.post(f"/policies/{pid}/buyers/{GOOD}/limit-requests", {"amount": 20000}, token=owner)
    (granted,) = mails()
    _to_owner(granted)
    assert "Limite de crédit accordée" in granted.subject
    assert "20 000,00 €" in granted.body
    add_buyer(client, pid, owner, POOR, name="Menuiserie Lefèvre")
    referred = body_of(
        client.post(f"/policies/{pid}/buyers/{POOR}/limit-requests", {"amount": 30000}, token=owner)
    )
    assert len(mails()) == 1  # referred: no decision yet
    decision = {"decision": "partly_approved", "amount": 12000, "reason": "Note 7"}
    client.post(f"/limit-requests/{referred['request_id']}/decision", decision, token=staff)
    partly = mails()[-1]
    _to_owner(partly)
    assert "accordée en partie" in partly.subject
    assert "Motif : Note 7" in partly.body
    event = {"type": "insolvency_judgment", "date": "2026-03-02", "kind": "redressement"}
    assert body_of(client.post(f"/register/{GOOD}/events", event, token=staff))["alerts_sent"] == 1
    alert = mails()[-1]
    _to_owner(alert)
    assert "Alerte de surveillance" in alert.subject
    assert "redressement" in alert.body
    assert len(mails()) == 3


def test_a_mail_that_cannot_be_sent_never_fails_the_action(
    client: Any, tokens: Any, aws: dict[str, str], policy: dict[str, Any], monkeypatch: Any
) -> None:
    from chalicelib import config

    monkeypatch.setenv("MAIL_FROM", "not-verified@assurcredit.test")  # SES (moto) rejects it
    config.reset()
    before = len(_sent())
    owner = owner_of(client, tokens, aws, policy)
    add_buyer(client, policy["policy_id"], owner)
    response = client.post(
        f"/policies/{policy['policy_id']}/buyers/{GOOD}/limit-requests", {"amount": 20000}, token=owner
    )
    assert response.status_code == 201, response.body
    assert body_of(response)["status"] == "approved"
    assert len(_sent()) == before
