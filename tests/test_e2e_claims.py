"""End to end against the local stack, in Chromium: the owner's buyers, limits and claims, and the staff space.

One stack per module. An owner subscribes over HTTP, then in the browser: adds a buyer and asks
for a limit that is referred to staff; the seeded staff account approves it and records the
buyer's insolvency judgment; the owner declares the invoice and sees it accepted with its dates;
staff establish and settle the claim; the owner sees the indemnity. Axe on every new page, and
the pages fit a 360 px screen.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from .browser import require_browser
from .test_e2e_stack import PASSWORD, PROFILE, axe, call, log_in, new_email, subscription

POOR = "404833048"  # grade 7 in the demo register: a limit above the automatic threshold is referred
BUYER_NAME = "Menuiserie Lefèvre"


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
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    context.on("request", lambda request: seen.append(request.url))
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site}connexion/")
    page.wait_for_selector("#login-form", state="visible")
    page.fill("#login-email", email)
    page.focus("#login-password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/espace/")
    return page


def fits_a_phone(page: Any) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    width = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert width <= 360, page.url
    assert axe(page) == [], page.url
    page.set_viewport_size({"width": 1280, "height": 900})


def test_buyer_limit_declaration_and_indemnity_in_the_browser(browser, site, stack):
    email, policy = subscribe(stack)
    staff = next(a for a in stack.accounts if a["role"] == "staff")
    errors: list[str] = []
    seen: list[str] = []
    today = dt.date.fromisoformat(policy["start_date"])

    # The owner adds a buyer and asks for a limit: referred to a staff member.
    owner = signed_in(browser, site, email, PASSWORD, errors, seen)
    owner.goto(f"{site}espace-clients/")
    owner.wait_for_selector("#buyer-form", state="visible")
    assert axe(owner) == []
    owner.fill("#b-name", BUYER_NAME)
    owner.fill("#b-identifier", "404 833 048")
    owner.click("#buyer-form button[type=submit]")
    card = owner.locator("#clients-list [data-buyer]")
    card.wait_for()
    assert BUYER_NAME in card.inner_text()
    assert "Aucune limite accordée" in card.locator("[data-limit]").inner_text()
    assert owner.evaluate("document.activeElement.name") == "amount"  # next step: the limit
    owner.keyboard.type("50000")
    owner.keyboard.press("Enter")
    answer = owner.locator("#clients-list [data-limit-status][data-request]")
    answer.wait_for()
    assert answer.get_attribute("data-request") == "referred"
    assert "transmise à un gestionnaire" in answer.inner_text()
    assert "48 heures" in answer.inner_text()
    assert axe(owner) == []
    fits_a_phone(owner)

    # Staff: the referred request is listed; approve it; record the buyer's insolvency judgment.
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
    desk.fill("#r-identifier", POOR)
    desk.click("#register-form button[type=submit]")
    desk.wait_for_selector("#register-entry", state="visible")
    assert BUYER_NAME in desk.inner_text("#register-entry-body")
    desk.select_option("#e-type", "insolvency_judgment")
    desk.select_option("#e-kind", "redressement")
    desk.fill("#e-date", today.isoformat())
    desk.click("#event-form button[type=submit]")
    desk.wait_for_selector("#event-form-status[data-kind=success]")
    assert "1 assuré(s) alerté(s)" in desk.inner_text("#event-form-status")
    assert axe(desk) == []

    # The owner sees the approved limit and the alert, then declares the invoice: accepted.
    owner.reload()
    owner.wait_for_selector("#clients-list [data-buyer]")
    assert "50\u202f000,00" in owner.inner_text("#clients-list [data-limit]")
    owner.wait_for_selector("#alerts-section", state="visible")
    assert BUYER_NAME in owner.inner_text("#alerts-list")
    owner.goto(f"{site}espace-sinistres/")
    owner.wait_for_selector("#declare-form", state="visible")
    assert axe(owner) == []
    owner.select_option("#d-buyer", label=BUYER_NAME)
    owner.fill("#d-number", "F-2026-042")
    owner.fill("#d-invoice-date", today.isoformat())
    owner.fill("#d-due-date", (today + dt.timedelta(days=30)).isoformat())
    owner.fill("#d-amount", "6000")
    owner.click("#declare-form button[type=submit]")
    owner.wait_for_selector("#declare-result", state="visible")
    owner.wait_for_function("document.activeElement?.id === 'declare-result-title'")
    assert owner.get_attribute("#declare-result [data-outcome]", "data-outcome") == "accepted"
    text = owner.inner_text("#declare-result")
    assert "Et ensuite ?" in text
    assert "sinistre sera constitué le" in text
    assert "au plus tard le" in text
    claim = owner.locator("#claims-list [data-claim]")
    claim.wait_for()
    assert claim.get_attribute("data-status") == "collection"
    claim_id = claim.get_attribute("data-claim")
    assert axe(owner) == []
    fits_a_phone(owner)

    # Staff establish the claim (insolvency judgment), then settle it.
    desk.reload()
    card = desk.locator(f"#staff-claims-list [data-claim='{claim_id}']")
    card.wait_for()
    card.locator("[data-act=establish]").click()
    desk.wait_for_selector(f"#staff-claims-list [data-claim='{claim_id}'][data-status=claim_established]")
    desk.locator(f"#staff-claims-list [data-claim='{claim_id}'] [data-act=settle]").click()
    desk.wait_for_function(
        "document.querySelector('#staff-status')?.textContent.includes('indemnisé')", timeout=20_000
    )
    assert axe(desk) == []
    fits_a_phone(desk)

    # The owner sees the indemnity, as the API computed it.
    token = log_in(stack, email, PASSWORD)
    status, _, body = call(stack, "GET", f"claims/{claim_id}", token=token)
    assert status == 200
    settled = json.loads(body)
    assert settled["status"] == "indemnified"
    assert float(settled["indemnity"]) > 0
    owner.reload()
    done = owner.locator(f"#claims-list [data-claim='{claim_id}'][data-status=indemnified]")
    done.wait_for()
    assert done.locator("[data-indemnity]").get_attribute("data-indemnity") == settled["indemnity"]
    assert "Indemnisé" in done.inner_text()
    assert "Indemnité calculée" in done.inner_text()

    assert not errors
    hosts = {urlparse(url).hostname for url in seen if not url.startswith(("data:", "blob:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    owner.context.close()
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
