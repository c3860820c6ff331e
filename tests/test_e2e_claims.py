"""End to end against the local stack, in Chromium: from the simulator to the indemnity, and staff work.

One stack per module. (1) The issue's journey through the pages: simulate with a key client and
the invoice it may leave unpaid, quote, subscribe, log in, add a buyer whose limit is granted at
once and one referred to staff, staff approve and record the insolvency judgment, the owner
declares the invoice and uploads files to S3 (one refused by the server's check of its bytes),
staff open the invoice, establish and settle, the owner sees an indemnity equal to the simulator's
what-if figure. (2) Staff decisions other than a plain approval: partial approval, a limit reduced
then cancelled with a notice date, a recovery that closes a claim, a rejected claim. Axe on every
page, and the pages fit a 360 px screen.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import simulator

from .browser import LOADED_SCRIPT, ROOT, require_browser
from .test_e2e_stack import (
    PASSWORD,
    PROFILE,
    QUIET,
    READY,
    axe,
    call,
    engine_assets,
    ensure_quote_links,
    fill_subscription,
    log_in,
    new_email,
    paris_today,
    recording_page,
    send_subscription,
    subscription,
)

POOR = "404833048"  # grade 7 in the demo register: a limit above the automatic threshold is referred
BUYER_NAME = "Menuiserie Lefèvre"
GOOD = "732829320"  # grade 2: a limit up to the automatic cap is granted at once
GOOD_NAME = "Boulangerie Industrielle du Rhône"
INSURED_SIREN = "443 061 841"
INVOICE = {"amount": "6000", "vat_included": False, "extension_days": 0}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


DOCUMENTS_LIST = re.compile(r".*/claims/[^/]+/documents$")


def whatif_state(page: Any) -> dict[str, Any]:
    """What the simulator page's what-if shows: its rows, whether it is stale, the visible errors, its fields."""
    return page.evaluate(
        """() => ({
            rows: [...document.querySelectorAll('#sim-whatif tr[data-formula]')].map((r) => r.innerText),
            stale: document.querySelector('#sim-whatif')?.dataset.stale ?? null,
            errors: [...document.querySelectorAll('.sim-error:not([hidden])')].map((e) => `${e.id}: ${e.textContent}`),
            fields: Object.fromEntries([...document.querySelectorAll('#sim-whatif-form [data-field]')].map((f) => [f.id, f.value])),
        })"""
    )


def what_if(today: dt.date) -> str:
    """Sélection's indemnity, by the engine on CPython, for the invoice the journey declares."""
    first, *others = engine_assets.DEFAULT_PROFILE["top_buyers"]
    profile = dict(engine_assets.DEFAULT_PROFILE, top_buyers=[dict(first, name=BUYER_NAME), *others])
    compare = simulator.handle({"op": "compare", "profile": profile, "options": {}})["result"]
    terms = next(f["terms"] for f in compare["formulas"] if f["formula"] == "selection")
    invoice = {
        **INVOICE,
        "id": "simulation",
        "buyer": BUYER_NAME,
        "invoice_date": today.isoformat(),
        "due_date": (today + dt.timedelta(days=30)).isoformat(),
        "event": {"type": "insolvency", "date": today.isoformat()},
        "declared_on": today.isoformat(),
    }
    answer = simulator.handle({"op": "settle", "terms": terms, "invoices": [invoice], "paid_this_year": "0"})
    row = answer["result"]["invoices"][0]
    assert row["eligible"], row
    return str(row["indemnity"])


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Any]:
    from infra.local_stack import start_stack

    try:
        site = request.getfixturevalue("site_build")
    except pytest.skip.Exception:
        site = None
    with start_stack(site_dir=site) as running:
        yield running


@pytest.fixture(scope="module")
def site(stack: Any) -> str:
    require_browser()
    if stack.site_url is None:
        pytest.skip("the site could not be built (node_modules/pyodide missing)")
    return str(stack.site_url)


def subscribe(stack: Any) -> tuple[str, dict[str, Any]]:
    email = new_email()
    status, _, body = call(
        stack,
        "POST",
        "quotes",
        {"profile": PROFILE, "options": {"formula": "selection"}, "contact_email": email},
    )
    assert status == 201, body
    quote = json.loads(body)
    status, _, body = call(
        stack,
        "POST",
        "subscriptions",
        subscription(quote["quote_id"], email),
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert status == 201, body
    return email, json.loads(body)


def signed_in(browser: Any, site: str, email: str, password: str, errors: list[str], seen: list[str]) -> Any:
    """A new context logged in through the log-in page (the session lives in this tab only)."""
    page = recording_page(browser, errors, seen)
    page.goto(f"{site}connexion/")
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#login-email", email)
    page.focus("#login-password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/espace/")
    return page


def add_buyer_and_ask(page: Any, name: str, identifier: str, amount: str) -> str:
    """Add a buyer on "Mes clients", ask for a limit with the keyboard; the answer's status."""
    key = identifier.replace(" ", "")
    page.fill("#b-name", name)
    page.fill("#b-identifier", identifier)
    page.click("#buyer-form button[type=submit]")
    page.locator(f"#clients-list [data-buyer='{key}']").wait_for()
    assert "Aucune limite accordée" in page.inner_text(f"#clients-list [data-buyer='{key}'] [data-limit]")
    page.wait_for_function("document.activeElement?.name === 'amount'")  # next step: the limit
    page.keyboard.type(amount)
    page.keyboard.press("Enter")
    answer = page.locator(f"#clients-list [data-buyer='{key}'] [data-limit-status][data-request]")
    answer.wait_for()
    return str(answer.get_attribute("data-request"))


def record_insolvency(desk: Any, identifier: str, day: dt.date) -> None:
    """Staff look the company up in the register and record an insolvency judgment."""
    desk.fill("#r-identifier", identifier)
    desk.click("#register-form button[type=submit]")
    desk.wait_for_selector("#register-entry", state="visible")
    desk.select_option("#e-type", "insolvency_judgment")
    desk.select_option("#e-kind", "redressement")
    desk.fill("#e-date", day.isoformat())
    desk.click("#event-form button[type=submit]")
    desk.wait_for_selector("#event-form-status[data-kind=success]")


def send_declaration(page: Any, buyer: str, number: str, day: dt.date, amount: str) -> None:
    """Fill the declaration form (an invoice of ``day``, due 30 days later) and send it."""
    page.select_option("#d-buyer", label=buyer)
    page.fill("#d-number", number)
    page.fill("#d-invoice-date", day.isoformat())
    page.fill("#d-due-date", (day + dt.timedelta(days=30)).isoformat())
    page.fill("#d-amount", amount)
    page.click("#declare-form button[type=submit]")


def declare(page: Any, site: str, buyer: str, number: str, day: dt.date, amount: str) -> str:
    """Declare an unpaid invoice on "Mes impayés et sinistres"; the claim's id."""
    page.goto(f"{site}espace-sinistres/")
    page.wait_for_selector("#declare-form", state="visible")
    send_declaration(page, buyer, number, day, amount)
    page.wait_for_selector("#declare-result", state="visible")
    page.wait_for_function("document.activeElement?.id === 'declare-result-title'")
    claim = page.locator("#claims-list [data-claim]", has_text=number)
    claim.wait_for()
    return str(claim.get_attribute("data-claim"))


def pick_and_send(page: Any, claim_id: str, name: str, mime: str, data: bytes) -> None:
    """Choose a file on the claim's card and press its send button."""
    form = page.locator(f"#claims-list form[data-upload='{claim_id}']")
    form.locator("input[type=file]").set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
    form.locator("button[type=submit]").click()


def upload_status(page: Any, claim_id: str) -> Any:
    """The claim card's upload status line, once the page has put the focus on it."""
    page.wait_for_function(
        "f => document.activeElement === document.querySelector(`#claims-list form[data-upload='${f}'] [data-upload-status]`)",
        arg=claim_id,
        timeout=20_000,
    )
    return page.locator(f"#claims-list form[data-upload='{claim_id}'] [data-upload-status]")


@contextmanager
def documents_held(page: Any) -> Iterator[list[Any]]:
    """Hold back the page's reads of claims' documents lists, as on a slow line; let them go at the end."""
    held: list[Any] = []
    holding = True

    def hold(route: Any) -> None:
        if holding and route.request.method == "GET":
            held.append(route)
        else:
            route.continue_()

    page.route(DOCUMENTS_LIST, hold)
    try:
        yield held
    finally:
        holding = False
        for route in held:
            route.continue_()
        page.unroute(DOCUMENTS_LIST)


def fits_a_phone(page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= 360, page.url
    assert axe(page) == [], page.url
    page.set_viewport_size({"width": 1280, "height": 900})


def test_journey_from_the_simulator_to_the_indemnity(browser, site, stack):
    """The issue's journey, every step through the pages; the indemnity is the what-if figure."""
    today = paris_today()
    staff = next(a for a in stack.accounts if a["role"] == "staff")
    errors: list[str] = []
    seen: list[str] = []
    owner = recording_page(browser, errors, seen)
    context = owner.context

    # Simulate: the key client is named, and "si ce client ne paie pas" gets the invoice to come.
    owner.goto(f"{site}simulateur/")
    owner.wait_for_function(READY, timeout=60_000)
    ensure_quote_links(owner)
    owner.fill("#f-buyer-name-0", BUYER_NAME)
    owner.fill("#w-buyer", BUYER_NAME)
    owner.fill("#f-invoices-0-amount", INVOICE["amount"])
    for selector, day in (
        ("#w-invoice_date", today),
        ("#w-due_date", today + dt.timedelta(days=30)),
        ("#w-event_date", today),
        ("#w-declared_on", today),
    ):
        owner.fill(selector, day.isoformat())
    expected = what_if(today)
    try:
        owner.wait_for_function(
            "v => document.querySelector('#sim-whatif tr[data-formula=selection] [data-indemnity]')?.dataset.indemnity === v",
            arg=expected,
            timeout=20_000,
        )
    except PlaywrightTimeout:
        # This wait timed out once in CI and never again here: say what the page showed instead.
        pytest.fail(f"the what-if never showed {expected}: {whatif_state(owner)}; page errors: {errors}")
    owner.wait_for_function(QUIET, timeout=20_000)
    shown = owner.get_attribute("#sim-whatif tr[data-formula=selection] [data-indemnity]", "data-indemnity")
    assert shown == expected

    # Quote and subscription on Sélection through the pages, then log in.
    owner.click("#sim-compare .sim-card[data-formula='selection'] .ac-quote-link")
    owner.wait_for_url("**/devis/")
    owner.wait_for_selector("#devis-form", state="visible")
    email = new_email()
    owner.fill("#devis-email", email)
    with owner.expect_response(lambda r: r.url.endswith("/quotes") and r.request.method == "POST") as answer:
        owner.click("#devis-form button[type=submit]")
    assert answer.value.status == 201
    assert answer.value.request.post_data_json["profile"]["top_buyers"][0]["name"] == BUYER_NAME
    owner.wait_for_selector("#devis-result", state="visible")
    owner.click("#devis-subscribe")
    owner.wait_for_selector("#sub-form", state="visible")
    fill_subscription(owner, INSURED_SIREN)
    done = send_subscription(owner)
    assert done.status == 201
    policy = done.json()
    assert policy["formula"] == "selection"
    assert policy["start_date"] == today.isoformat()
    owner.wait_for_selector("#sub-result", state="visible")
    owner.click("#sub-login")
    owner.wait_for_selector("#login-form", state="visible")
    owner.focus("#login-password")
    owner.keyboard.type(PASSWORD)
    owner.keyboard.press("Enter")
    owner.wait_for_url("**/espace/")

    # Two buyers: a well-graded one gets its limit at once, the other is referred to staff.
    owner.goto(f"{site}espace-clients/")
    owner.wait_for_selector("#buyer-form", state="visible")
    assert axe(owner) == []
    assert add_buyer_and_ask(owner, GOOD_NAME, GOOD, "20000") == "approved"
    card = owner.locator("#clients-list [data-buyer]", has_text=GOOD_NAME)
    assert "20\u202f000,00" in card.locator("[data-limit]").inner_text()
    assert "valable dès aujourd'hui" in card.locator("[data-limit-status]").inner_text()
    assert add_buyer_and_ask(owner, BUYER_NAME, "404 833 048", "50000") == "referred"
    answer_text = owner.inner_text(f"#clients-list [data-buyer='{POOR}'] [data-limit-status]")
    assert "transmise à un gestionnaire" in answer_text
    assert "48 heures" in answer_text
    assert axe(owner) == []
    fits_a_phone(owner)

    # Staff approve the referred request and record the buyer's insolvency judgment.
    desk = signed_in(browser, site, staff["email"], staff["password"], errors, seen)
    desk.goto(f"{site}gestion/")
    request = desk.locator("#requests-list [data-request]", has_text=BUYER_NAME)
    request.wait_for()
    assert "50\u202f000,00" in request.inner_text()
    assert axe(desk) == []
    request.locator("input[name=reason]").fill("Bilan 2025 satisfaisant.")
    request.locator("button[type=submit]").click()
    desk.wait_for_selector("#staff-status[data-kind=success]")
    assert desk.locator("#requests-list [data-request]", has_text=BUYER_NAME).count() == 0
    record_insolvency(desk, POOR, today)
    assert "1 assuré(s) alerté(s)" in desk.inner_text("#event-form-status")

    # The owner sees the limit and the alert, declares the invoice, sends two files.
    owner.reload()
    owner.wait_for_selector(f"#clients-list [data-buyer='{POOR}']")
    assert "50\u202f000,00" in owner.inner_text(f"#clients-list [data-buyer='{POOR}'] [data-limit]")
    owner.wait_for_selector("#alerts-section", state="visible")
    assert BUYER_NAME in owner.inner_text("#alerts-list")
    claim_id = declare(owner, site, BUYER_NAME, "F-2026-042", today, INVOICE["amount"])
    assert owner.get_attribute("#declare-result [data-outcome]", "data-outcome") == "accepted"
    text = owner.inner_text("#declare-result")
    assert "sinistre sera constitué le" in text
    assert "au plus tard le" in text
    assert axe(owner) == []
    # The owner comes back and sends the invoice while the documents lists are still loading:
    # the send button already works (it would otherwise submit the form the browser's way).
    with documents_held(owner) as held:
        owner.reload()
        owner.wait_for_selector(f"#claims-list form[data-upload='{claim_id}']")
        created = f"/claims/{claim_id}/documents"
        with owner.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith(created)
        ) as answer:
            pick_and_send(owner, claim_id, "facture-F-2026-042.pdf", "application/pdf", PDF)
        assert answer.value.status == 201
        assert held, "the documents lists were not held back"
    assert owner.url.endswith("/espace-sinistres/")
    status = upload_status(owner, claim_id)
    assert status.get_attribute("data-kind") == "success"
    assert "facture-F-2026-042.pdf est reçu" in status.inner_text()
    # A text file named .png passes the browser's accept list, not the server's check of its bytes:
    # the reason shows under the file field, which gets the focus.
    form = owner.locator(f"#claims-list form[data-upload='{claim_id}']")
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "relance.png", "mimeType": "image/png", "buffer": b"not really a picture\n"}]
    )
    form.locator("button[type=submit]").click()
    owner.wait_for_function(
        "f => document.activeElement === document.querySelector(`#claims-list form[data-upload='${f}'] input[type=file]`)",
        arg=claim_id,
        timeout=20_000,
    )
    assert form.locator("[data-upload-status]").get_attribute("data-kind") == "error"
    assert "Document refusé" in form.locator("[data-upload-status]").inner_text()
    assert form.locator("input[type=file]").get_attribute("aria-invalid") == "true"
    assert form.locator("[data-error-for=file]").is_visible()
    documents = owner.inner_text(f"#claims-list [data-documents='{claim_id}']")
    assert "facture-F-2026-042.pdf — reçu" in documents
    assert "relance.png — refusé" in documents
    fits_a_phone(owner)

    # Staff establish the claim, open the invoice the owner sent, and settle. The documents lists
    # are held back while staff click, as on a slow line: the card's button works as soon as it shows.
    with documents_held(desk) as held:
        desk.reload()
        card = desk.locator(f"#staff-claims-list [data-claim='{claim_id}']")
        card.wait_for()
        card.locator("[data-act=establish]").click()
        desk.wait_for_selector(f"#staff-claims-list [data-claim='{claim_id}'][data-status=claim_established]")
        assert held, "the documents lists were not held back"
    card = desk.locator(f"#staff-claims-list [data-claim='{claim_id}']")
    card.locator("[data-download]").click()
    link = card.locator("a[href*='X-Amz-Signature'], a[href*='Signature=']")
    link.wait_for()
    assert link.evaluate("a => document.activeElement === a")
    fetched = desk.context.request.get(link.get_attribute("href"))
    assert fetched.ok
    assert fetched.body() == PDF
    assert "relance.png" not in card.inner_text()  # refused files are not offered to staff
    card.locator("[data-act=settle]").click()
    desk.wait_for_function(
        "document.querySelector('#staff-status')?.textContent.includes('indemnisé')", timeout=20_000
    )
    assert axe(desk) == []
    fits_a_phone(desk)

    # The owner sees the indemnity: the figure the simulator showed for this invoice and formula.
    owner.reload()
    done = owner.locator(f"#claims-list [data-claim='{claim_id}'][data-status=indemnified]")
    done.wait_for()
    assert done.locator("[data-indemnity]").get_attribute("data-indemnity") == shown
    assert "Indemnisé" in done.inner_text()
    token = log_in(stack, email, PASSWORD)
    status_code, _, body = call(stack, "GET", f"claims/{claim_id}", token=token)
    assert status_code == 200
    assert json.loads(body)["indemnity"] == shown

    # Each step reached the owner by e-mail (moto's SES), readable with `make mails`.
    from infra.mails import fetch_mails

    mails = fetch_mails(stack.aws_endpoint_url, to=email)
    subjects = [m.subject for m in mails]
    assert f"Limite de crédit accordée : {GOOD_NAME}" in subjects
    assert f"Limite de crédit accordée : {BUYER_NAME}" in subjects  # the staff decision
    assert f"Alerte de surveillance : {BUYER_NAME}" in subjects
    assert [s for s in subjects if s.endswith(f"({claim_id})")] == [
        f"Déclaration enregistrée : recouvrement en cours ({claim_id})",
        f"Sinistre constitué ({claim_id})",
        f"Indemnité réglée ({claim_id})",
    ]
    indemnity_mail = next(m for m in mails if m.subject == f"Indemnité réglée ({claim_id})")
    euros = f"{Decimal(shown):,.2f}".replace(",", " ").replace(".", ",")
    assert f"Indemnité : {euros} €" in indemnity_mail.body
    assert all("FR76" not in m.body.replace(" ", "") for m in mails)
    listed = subprocess.run(
        [sys.executable, "-m", "infra.mails", "--endpoint", stack.aws_endpoint_url, "--to", email],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert f"Objet : Indemnité réglée ({claim_id})" in listed
    assert f"--- courriel 1 sur {len(mails)}" in listed

    assert not errors
    hosts = {urlparse(url).hostname for url in seen if not url.startswith(("data:", "blob:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    context.close()
    desk.context.close()


def test_new_pages_ask_to_log_in_and_fit_a_phone(browser, site):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in ("espace-clients/", "espace-sinistres/", "gestion/"):
        page.goto(site + path)
        page.wait_for_selector("[role=status] a[href$='connexion/']")
        width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
        assert width <= 360, path
        assert axe(page) == [], path
    context.close()


MARTIN = "552100554"  # grade 4: referred above the automatic cap of 50,000 EUR
MARTIN_NAME = "Transports Martin et Fils"


def test_staff_partial_approval_limit_changes_recovery_and_rejection(browser, site, stack):
    """What staff do besides a plain approval, and what the owner then reads in their space."""

    def french(day: dt.date) -> str:
        """A date as the pages write it (the site's own formatter, e.g. 1er décembre 2026)."""
        service = desk.evaluate(LOADED_SCRIPT, "service")
        return str(
            desk.evaluate("async ([url, d]) => (await import(url)).frenchDate(d)", [service, day.isoformat()])
        )

    email, policy = subscribe(stack)
    pid = policy["policy_id"]
    today = dt.date.fromisoformat(policy["start_date"])
    staff = next(a for a in stack.accounts if a["role"] == "staff")
    errors: list[str] = []
    seen: list[str] = []
    owner = signed_in(browser, site, email, PASSWORD, errors, seen)
    owner.goto(f"{site}espace-clients/")
    owner.wait_for_selector("#buyer-form", state="visible")
    assert add_buyer_and_ask(owner, MARTIN_NAME, MARTIN, "80000") == "referred"

    # Staff grant 30,000 of the 80,000 asked, then schedule a reduction and a cancellation.
    desk = signed_in(browser, site, staff["email"], staff["password"], errors, seen)
    desk.goto(f"{site}gestion/")
    request = desk.locator("#requests-list [data-request]", has_text=MARTIN_NAME)
    request.wait_for()
    request.locator("input[value=partly_approved]").check()
    request.locator("input[name=amount]").fill("30 000")
    request.locator("input[name=reason]").fill("Encours plafonné au vu du dernier bilan.")
    request.locator("button[type=submit]").click()
    desk.wait_for_selector("#staff-status[data-kind=success]")
    desk.fill("#r-identifier", MARTIN)
    desk.click("#register-form button[type=submit]")
    exposure = desk.locator(f"#exposure-list [data-exposure='{pid}']")
    exposure.wait_for()
    assert "30\u202f000,00" in exposure.locator("[data-current-limit]").inner_text()
    assert axe(desk) == []
    reduce_on, cancel_on = today + dt.timedelta(days=15), today + dt.timedelta(days=30)
    exposure.locator("input[name=amount]").fill("10000")
    exposure.locator("input[name=notice_date]").fill(reduce_on.isoformat())
    exposure.locator("input[name=reason]").fill("Retards de paiement signalés.")
    exposure.locator("button[type=submit]").click()
    desk.wait_for_function("document.activeElement?.id === 'exposure-status'")
    assert f"limite réduite à 10\u202f000,00\u00a0€ pour les livraisons à partir du {french(reduce_on)}" in (
        desk.inner_text("#exposure-status")
    )
    exposure = desk.locator(f"#exposure-list [data-exposure='{pid}']")
    assert "30\u202f000,00" in exposure.locator("[data-current-limit]").inner_text()  # today: unchanged
    exposure.locator("input[value=cancel]").check()
    exposure.locator("input[name=notice_date]").fill(cancel_on.isoformat())
    exposure.locator("input[name=reason]").fill("Dégradation de la note.")
    exposure.locator("button[type=submit]").click()
    desk.wait_for_function(
        "document.querySelector('#exposure-status')?.textContent.includes('limite annulée')"
    )
    fits_a_phone(desk)

    # The register: a bad identifier is refused by field; an unknown company is added, then regraded.
    desk.fill("#r-identifier", "123 456 789")
    desk.click("#register-form button[type=submit]")
    desk.wait_for_selector("#register-form [data-error-for=identifier]", state="visible")
    desk.fill("#r-identifier", "443 061 841")
    desk.click("#register-form button[type=submit]")
    desk.wait_for_function("document.activeElement?.id === 'g-name'")
    assert desk.inner_text("#register-edit-title") == "Ajouter 443061841 au registre"
    assert desk.input_value("#g-country") == "FR"
    desk.fill("#g-name", "Nouvelle Menuiserie SAS")
    desk.fill("#g-grade", "3")
    desk.click("#register-edit-form button[type=submit]")
    desk.wait_for_selector("#register-edit-status[data-kind=success]")
    assert "3 sur 10" in desk.inner_text("#register-entry-body")
    assert desk.inner_text("#register-edit-title") == "Modifier la fiche"
    desk.fill("#g-grade", "8")
    desk.click("#register-edit-form button[type=submit]")
    desk.wait_for_function("document.querySelector('#register-entry-body')?.textContent.includes('8 sur 10')")
    assert axe(desk) == []

    # The owner reads the partial approval and both changes to come, with their dates.
    owner.reload()
    card = owner.locator(f"#clients-list [data-buyer='{MARTIN}']")
    card.wait_for()
    text = card.inner_text()
    assert "30\u202f000,00" in card.locator("[data-limit]").inner_text()
    assert "Limite accordée en partie — 30\u202f000,00" in text
    assert "Encours plafonné au vu du dernier bilan." in text
    assert (
        f"Limite réduite — 10\u202f000,00\u00a0€, pour les livraisons à partir du {french(reduce_on)}" in text
    )
    assert f"Limite annulée — 0,00\u00a0€, pour les livraisons à partir du {french(cancel_on)}" in text

    # No judgment yet and the invoice not due: refused at once, the reason next to the due date.
    owner.goto(f"{site}espace-sinistres/")
    owner.wait_for_selector("#declare-form", state="visible")
    send_declaration(owner, MARTIN_NAME, "F-2026-100", today, "1500")
    owner.wait_for_function("document.activeElement?.id === 'd-due-date'")
    assert owner.inner_text("[data-error-for=due_date]") == "Échéance non dépassée."
    assert owner.get_attribute("#d-due-date", "aria-invalid") == "true"
    assert owner.locator("#claims-list [data-claim]").count() == 0

    # After the judgment: three invoices, paid in collection, rejected, indemnified then recovered.
    record_insolvency(desk, MARTIN, today)
    paid = declare(owner, site, MARTIN_NAME, "F-2026-101", today, "4000")
    refused = declare(owner, site, MARTIN_NAME, "F-2026-102", today, "2500")
    settled = declare(owner, site, MARTIN_NAME, "F-2026-103", today, "3000")
    # The same invoice twice: refused, the reason under the invoice number, nothing recorded.
    send_declaration(owner, MARTIN_NAME, "F-2026-101", today, "4000")
    owner.wait_for_function("document.activeElement?.id === 'd-number'")
    assert owner.inner_text("[data-error-for=invoice_number]") == "Facture déjà déclarée sur ce contrat."
    assert paid in owner.inner_text("#declare-status")
    assert owner.locator("#claims-list [data-claim]").count() == 3
    desk.reload()

    def staff_card(claim_id: str) -> Any:
        card = desk.locator(f"#staff-claims-list [data-claim='{claim_id}']")
        card.wait_for()
        return card

    def recover(claim_id: str, amount: str) -> None:
        form = staff_card(claim_id).locator("form[data-recovery]")
        form.locator("input[name=amount]").fill(amount)
        form.locator("input[name=date]").fill(today.isoformat())
        form.locator("button[type=submit]").click()
        desk.wait_for_function(
            "document.querySelector('#staff-status')?.textContent.startsWith('Enregistré')"
        )
        assert desk.evaluate("document.activeElement?.id") == "staff-status"

    recover(paid, "4000")
    assert desk.locator(f"#staff-claims-list [data-claim='{paid}']").count() == 0  # closed
    form = staff_card(refused).locator("form[data-reject]")
    form.locator("input[name=reason]").fill("Facture contestée par le client (litige sur la livraison).")
    form.locator("button[type=submit]").click()
    desk.wait_for_selector(f"#staff-claims-list [data-claim='{refused}']", state="detached")
    staff_card(settled).locator("[data-act=establish]").click()
    desk.wait_for_selector(f"#staff-claims-list [data-claim='{settled}'][data-status=claim_established]")
    staff_card(settled).locator("[data-act=settle]").click()
    desk.wait_for_selector(f"#staff-claims-list [data-claim='{settled}'][data-status=indemnified]")
    indemnity = staff_card(settled).locator("[data-indemnity]").get_attribute("data-indemnity")
    assert "revient à l'assureur pour 90 %" in staff_card(settled).inner_text()
    recover(settled, "1000")
    assert axe(desk) == []

    # The owner's page: each claim's status, the reason, the shares of the late recovery.
    owner.reload()
    owner.wait_for_selector(f"#claims-list [data-claim='{settled}']")
    assert owner.get_attribute(f"#claims-list [data-claim='{paid}']", "data-status") == "recovered"
    assert "Votre client a payé" in owner.inner_text(f"#claims-list [data-claim='{paid}']")
    assert owner.get_attribute(f"#claims-list [data-claim='{refused}']", "data-status") == "rejected"
    assert "litige sur la livraison" in owner.inner_text(f"#claims-list [data-claim='{refused}']")
    card = owner.locator(f"#claims-list [data-claim='{settled}']")
    assert card.locator("[data-indemnity]").get_attribute("data-indemnity") == indemnity
    assert card.locator("[data-recovered]").get_attribute("data-recovered") == "1000.00"
    assert (
        card.locator("[data-owner-share]").get_attribute("data-owner-share") == "100.00"
    )  # 90 % to the insurer
    assert axe(owner) == []
    fits_a_phone(owner)

    assert not errors
    hosts = {urlparse(url).hostname for url in seen if not url.startswith(("data:", "blob:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    owner.context.close()
    desk.context.close()
