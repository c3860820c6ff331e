"""The e-mails the local stack has sent, read from moto's SES (``make mails`` while ``make demo`` runs).

moto keeps every message sent through SES and shows them at ``{moto}/moto-api/data.json``
(section ``ses`` > ``Message``). This prints them as a mailbox, oldest first, optionally
only those to one address::

    python -m infra.mails                         # the running demo's (build/local-stack.json)
    python -m infra.mails --to jeanne@example.fr  # one recipient
    python -m infra.mails --endpoint http://127.0.0.1:5000

Exit status: 0, or 1 when moto cannot be reached (the demo is not running).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["STATE_FILE", "Mail", "fetch_mails", "format_mail", "mails_url_of", "main"]

STATE_FILE = Path(__file__).resolve().parents[1] / "build" / "local-stack.json"


@dataclass(frozen=True)
class Mail:
    """One message sent through SES."""

    sender: str
    to: tuple[str, ...]
    subject: str
    body: str


def mails_url_of(endpoint_url: str) -> str:
    """Where moto shows the e-mails sent through SES (``ses`` > ``Message``: source, destinations, subject, body)."""
    return f"{endpoint_url.rstrip('/')}/moto-api/data.json"


def fetch_mails(endpoint_url: str, to: str | None = None) -> list[Mail]:
    """Messages moto's SES received, in the order sent; only those to ``to`` if given."""
    with urllib.request.urlopen(
        mails_url_of(endpoint_url), timeout=10
    ) as response:  # 127.0.0.1: the local stack only
        data: dict[str, Any] = json.load(response)
    mails = []
    for item in data.get("ses", {}).get("Message", []):
        destinations = item.get("destinations") or {}
        recipients = tuple(
            address
            for key in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in destinations.get(key, [])
        )
        mails.append(Mail(item.get("source", ""), recipients, item.get("subject", ""), item.get("body", "")))
    if to is not None:
        wanted = to.casefold()
        mails = [m for m in mails if any(a.casefold() == wanted for a in m.to)]
    return mails


def format_mail(mail: Mail) -> str:
    """A message as a mail reader shows it."""
    return f"De : {mail.sender}\nÀ : {', '.join(mail.to)}\nObjet : {mail.subject}\n\n{mail.body.rstrip()}\n"


def _endpoint(given: str | None) -> str:
    if given:
        return given
    try:
        return str(json.loads(STATE_FILE.read_text("utf-8"))["aws_endpoint_url"])
    except (OSError, ValueError, KeyError):
        raise SystemExit(
            f"mails : pas de pile locale en marche ({STATE_FILE} absent) : lancez `make demo`, ou passez --endpoint"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.mails", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", help="moto's URL (default: the running `make demo`)")
    parser.add_argument("--to", help="only the messages to this address")
    args = parser.parse_args(argv)
    endpoint = _endpoint(args.endpoint)
    try:
        mails = fetch_mails(endpoint, args.to)
    except (OSError, urllib.error.URLError) as error:
        print(f"mails : moto ne répond pas à {endpoint} ({error})", file=sys.stderr)
        return 1
    if not mails:
        print("Aucun courriel envoyé" + (f" à {args.to}." if args.to else "."))
        return 0
    for number, mail in enumerate(mails, 1):
        print(f"--- courriel {number} sur {len(mails)}")
        print(format_mail(mail))
    return 0


if __name__ == "__main__":
    sys.exit(main())
