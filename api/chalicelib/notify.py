"""E-mails to the owner (SES): a decision on a limit, a monitoring alert, each claim step, the indemnity.

Sent after the change is stored: a mail that cannot be sent is logged (``mail_failed``) and
never undoes nor fails the action. The sender is ``MAIL_FROM`` (an SES-verified identity);
unset, nothing is sent. Bodies name the policy, the buyer and amounts, never bank details:
anything that looks like an IBAN is masked anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal
from typing import Any

from . import config, services
from .claim_storage import ClaimRecord
from .errors import is_aws_error
from .logs import log_event

__all__ = ["alert", "claim_step", "limit_decided", "send"]

_IBAN = re.compile(r"(?i)\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]){11,30}\b")
SIGNATURE = "\n\nVotre espace assuré vous donne le détail et les prochaines étapes.\n-- Assurance-crédit TPE"
LIMIT_KINDS = {
    "approved": "accordée",
    "partly_approved": "accordée en partie",
    "refused": "refusée",
    "reduced": "réduite",
    "cancelled": "résiliée",
}
CLAIM_STEPS = {
    "collection_started": "Déclaration enregistrée : recouvrement en cours",
    "recovery": "Encaissement enregistré",
    "established": "Sinistre constitué",
    "indemnified": "Indemnité réglée",
    "rejected": "Dossier refusé",
}


def _owner_email(policy_id: str) -> str | None:
    policy = services.get().policies.get(policy_id)
    if policy is None or not policy.owner_sub:
        return None
    email = (policy.contact or {}).get("email")
    return str(email) if email else None


def send(to: str | None, subject: str, body: str, kind: str) -> bool:
    """Send one plain-text mail; ``False`` (logged) when it could not be sent."""
    sender = config.settings().mail_from
    if not sender or not to:
        log_event("mail_skipped", kind=kind, reason="no_sender" if not sender else "no_recipient")
        return False
    text = _mask_iban(body + SIGNATURE)
    try:
        config.client("ses").send_email(
            Source=sender,
            Destination={"ToAddresses": [to]},
            Message={
                "Subject": {"Data": _mask_iban(subject), "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
    except Exception as exc:
        if not is_aws_error(exc):
            raise
        log_event("mail_failed", logging.WARNING, kind=kind, error_type=type(exc).__name__)
        return False
    log_event("mail_sent", kind=kind)
    return True


def _mask_iban(text: str) -> str:
    """Mask IBAN-like sequences (the pattern of the log redaction; e-mail addresses stay)."""
    return _IBAN.sub("[IBAN masqué]", text)


def _date(value: Any) -> str:
    """``2026-11-26`` -> ``26/11/2026`` (other text unchanged)."""
    text = str(value)
    try:
        return dt.date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text


def _euros(value: Any) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"{amount:,.2f}".replace(",", " ").replace(".", ",") + " €"


def limit_decided(
    policy_id: str, buyer_name: str, kind: str, amount: Any, reason: str | None, effective_from: str
) -> bool:
    """A limit granted, partly granted, refused, reduced or cancelled."""
    label = LIMIT_KINDS.get(kind, kind)
    lines = [
        "Bonjour,",
        "",
        f"Limite de crédit {label} pour votre client {buyer_name} (contrat {policy_id}).",
    ]
    if kind != "refused":
        lines.append(f"Montant : {_euros(amount)}, pour les livraisons à partir du {_date(effective_from)}.")
    if reason:
        lines.append(f"Motif : {reason}")
    return send(
        _owner_email(policy_id),
        f"Limite de crédit {label} : {buyer_name}",
        "\n".join(lines),
        "limit_decision",
    )


def alert(policy_id: str, buyer_name: str, message: str) -> bool:
    """A monitoring alert on one of the owner's buyers."""
    body = "\n".join(["Bonjour,", "", message, f"Contrat : {policy_id}."])
    return send(_owner_email(policy_id), f"Alerte de surveillance : {buyer_name}", body, "alert")


def claim_step(claim: ClaimRecord) -> bool:
    """The claim's last step of its history (declaration, recovery, establishment, indemnity, rejection)."""
    action = str(claim.history[-1]["action"]) if claim.history else claim.status
    title = CLAIM_STEPS.get(action, action)
    if action == "recovery" and claim.status == "recovered":
        title = "Dossier clos : facture recouvrée"
    lines = [
        "Bonjour,",
        "",
        f"{title} - dossier {claim.claim_id}, facture {claim.invoice.get('invoice_number')} "
        f"de {_euros(claim.invoice.get('amount', '0'))} sur votre client {claim.buyer_name} "
        f"(contrat {claim.policy_id}).",
    ]
    if action == "recovery" and claim.recoveries:
        last = claim.recoveries[-1]
        lines.append(f"Montant encaissé : {_euros(last['amount'])} le {_date(last['date'])}.")
        if last.get("after_indemnity"):
            lines.append(f"Votre part : {_euros(last['owner_share'])}.")
    if claim.status == "indemnified" and claim.indemnity is not None and action == "indemnified":
        lines.append(f"Indemnité : {_euros(claim.indemnity)}.")
    if claim.status == "rejected" and claim.reason:
        lines.append(f"Motif : {claim.reason}")
    if action == "collection_started":
        deadline = claim.assessment.get("timeline", {}).get("claim_established")
        if deadline:
            lines.append(f"Sans paiement, le sinistre sera constitué le {_date(deadline)} au plus tard.")
    kind = "indemnity" if action == "indemnified" else "claim_step"
    return send(_owner_email(claim.policy_id), f"{title} ({claim.claim_id})", "\n".join(lines), kind)
