"""The quote, subscription, log-in, "Mon espace" and API reference pages on the site served alone.

Without the local stack there is no ``/api-config.json``: the pages must say, in French, that
the service is not connected, stay accessible and fetch nothing from another host. The API
reference is checked against the document it is generated from. The journey against the
real API is in ``test_e2e_stack.py``.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

import simulator

from .browser import AXE, LOADED_SCRIPT, ROOT, load_module

sys.path.insert(0, str(ROOT / "site" / "hooks"))
from engine_assets import DEFAULT_PROFILE

sys.path.pop(0)

SERVICE_PAGES = ("devis/", "souscription/", "connexion/", "espace/")
READY = "window.__sim && window.__sim.info"


def _hook() -> Any:
    return load_module("openapi_page_hook", ROOT / "site" / "hooks" / "openapi_page.py")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The API's OpenAPI document, from the same function as ``GET /openapi.json``."""
    return _hook().load_document()


# --- the API reference, at build time -------------------------------------------------------


def test_api_reference_renders_every_operation(site_build: Path, document: dict[str, Any]):
    source = (site_build / "api" / "index.html").read_text("utf-8")
    assert '<html lang="fr"' in source
    assert "<!-- openapi -->" not in source
    assert "{{" not in source
    assert "{%" not in source
    rendered = set(re.findall(r'data-method="([A-Z]+)" data-path="([^"]+)"', source))
    expected = {(m.upper(), html.escape(p)) for p, ops in document["paths"].items() for m in ops}
    assert rendered == expected
    for methods in document["paths"].values():
        for operation in methods.values():
            assert f'id="op-{operation["operationId"]}"' in source, operation["operationId"]
    text = html.unescape(re.sub(r"<[^>]+>", " ", source))
    assert "Format des erreurs" in text
    assert "Jeton Cognito" in text
    assert "Aucune : opération anonyme." in text


def test_api_reference_lists_the_body_fields_by_their_error_paths(site_build: Path):
    source = (site_build / "api" / "index.html").read_text("utf-8")
    body = re.search(r'data-table="subscribe-body">(.*?)</table>', source, re.S)
    assert body, "no request body table for POST /subscriptions"
    paths = re.findall(r'<th scope="row"><code>([^<]+)</code></th>', body.group(1))
    for path in (
        "quote_id",
        "company.siren",
        "company.siret",
        "company.address.postal_code",
        "contact.email",
        "iban",
        "start_date",
        "accept_terms",
        "password",
    ):
        assert path in paths, path
    quote = re.search(r'data-table="createQuote-body">(.*?)</table>', source, re.S)
    assert quote
    assert "profile.top_buyers[].share" in quote.group(1)


def test_hook_refuses_a_page_without_its_marker():
    from mkdocs.exceptions import PluginError

    hook = _hook()

    class Page:
        class file:
            src_uri = "api.md"

    with pytest.raises(PluginError):
        hook.on_page_markdown("# Référence\n", Page(), None, None)


# --- the service pages, without the API -----------------------------------------------------


def axe(page: Any) -> list[Any]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]


@pytest.mark.parametrize("path", SERVICE_PAGES)
def test_service_pages_say_the_service_is_not_connected(page, site_url, path):
    page.goto(site_url + path)
    message = page.locator(".ac-message[data-kind=warning]:not([hidden])")
    message.wait_for()
    assert "n'est pas connecté" in message.inner_text()
    assert page.locator(".ac-form:visible").count() == 0
    assert axe(page) == []
    assert not page.errors
    hosts = {urlparse(url).hostname for url in page.requests if not url.startswith(("data:", "blob:"))}
    assert hosts == {"127.0.0.1"}, hosts


def test_api_reference_is_accessible(page, site_url):
    page.goto(site_url + "api/")
    assert axe(page) == []


def test_quote_buttons_follow_the_cards_through_updates(page, site_url):
    page.goto(f"{site_url}simulateur/")
    page.wait_for_function(READY, timeout=60_000)
    page.wait_for_selector("#sim-compare .ac-quote-link")
    buttons = "#sim-compare .sim-card[data-formula={}] .ac-quote-link"
    # Without named clients Sélection cannot be quoted: its card says why and loses its button.
    while page.locator("#sim-buyers .sim-remove").count():
        page.locator("#sim-buyers .sim-remove").first.click()
    page.wait_for_selector("#sim-compare .sim-card--off[data-formula=selection]")
    assert page.locator(buttons.format("selection")).count() == 0
    assert page.locator(buttons.format("essentielle")).count() == 1
    assert page.locator(buttons.format("tout_compris")).count() == 1
    page.click("#sim-add-buyer")
    page.fill("#f-buyer-name-0", "Client A")
    page.fill("#f-buyer-share-0", "20")
    page.wait_for_selector(
        "#sim-compare .sim-card[data-formula=selection]:not(.sim-card--off) [data-premium-total]"
    )
    for formula in ("essentielle", "selection", "tout_compris"):
        assert page.locator(buttons.format(formula)).count() == 1, formula


def test_simulator_keeps_the_chosen_formula_for_the_quote_page(page, site_url):
    page.goto(f"{site_url}simulateur/?profile.turnover=640000")  # one computation, no re-rendering later
    page.wait_for_function(READY, timeout=60_000)
    assert page.evaluate(LOADED_SCRIPT, "quote-link")
    page.wait_for_selector("#sim-compare .ac-quote-link")
    answer = simulator.handle(
        {"op": "compare", "profile": dict(DEFAULT_PROFILE, turnover="640000"), "options": {}}
    )
    total = next(f["premium"]["total"] for f in answer["result"]["formulas"] if f["formula"] == "selection")
    page.wait_for_function(
        "total => document.querySelector('#sim-compare .sim-card[data-formula=selection] [data-premium-total]')"
        "?.dataset.premiumTotal === total",
        arg=total,
    )
    cards = page.locator("#sim-compare .sim-card[data-formula]:not(.sim-card--off)")
    assert page.locator("#sim-compare .ac-quote-link").count() == cards.count()
    request = page.evaluate("window.__sim.lastRequests.compare")
    page.focus("#sim-compare .sim-card[data-formula=selection] .ac-quote-link")
    page.keyboard.press("Enter")
    page.wait_for_url("**/devis/")
    stored = json.loads(page.evaluate("sessionStorage.getItem('ac-simulation')"))
    assert stored["request"] == request
    assert stored["formula"] == "selection"
    assert "profile.turnover=640000" in stored["back"]
    assert not page.errors


def test_dates_in_the_pages_match_the_build_time_format(page, site_url):
    """The pages' date formatter writes what the build-time pages write (``1er`` for the first)."""
    sys.path.insert(0, str(ROOT / "site" / "hooks"))
    try:
        from tariff_pages import fr_date
    finally:
        sys.path.pop(0)
    page.goto(f"{site_url}connexion/")  # a page whose script imports service.js
    page.wait_for_function(f"({LOADED_SCRIPT})('service')")
    service = page.evaluate(LOADED_SCRIPT, "service")
    for day in ("2026-12-01", "2026-12-26", "2027-03-01", "2026-02-28"):
        shown = page.evaluate("async ([url, d]) => (await import(url)).frenchDate(d)", [service, day])
        assert shown == fr_date(day), day
