"""Owner and staff listings with pagination, and the attestation."""

from __future__ import annotations

from typing import Any

from .conftest import IBAN, assert_error, body_of, owner_sub_of, quote_body, subscription_body


def _subscribe(client: Any, index: int) -> dict[str, Any]:
    quote = body_of(client.post("/quotes", quote_body()))
    contact = {"first_name": "Jeanne", "last_name": "Dupont", "email": f"owner{index}@example.fr"}
    response = client.post("/subscriptions", subscription_body(quote["quote_id"], contact=contact))
    assert response.status_code == 201, response.body
    return body_of(response)


def _pages(client: Any, path: str, token: str) -> list[list[str]]:
    pages, next_token = [], None
    while True:
        url = (
            path
            + ("&" if "?" in path else "?")
            + "limit=2"
            + (f"&next_token={next_token}" if next_token else "")
        )
        response = client.get(url, token=token)
        assert response.status_code == 200, response.body
        page = body_of(response)
        pages.append([item.get("policy_id") or item.get("quote_id") for item in page["items"]])
        next_token = page["next_token"]
        if not next_token:
            return pages


def test_staff_lists_policies_page_by_page(client: Any, tokens: Any) -> None:
    created = [_subscribe(client, i)["policy_id"] for i in range(3)]
    pages = _pages(client, "/policies?status=active", tokens("staff"))
    seen = [policy_id for page in pages for policy_id in page]
    assert sorted(seen) == sorted(created)
    assert len(pages[0]) == 2
    assert body_of(client.get("/policies?status=pending_account", token=tokens("staff")))["items"] == []


def test_staff_lists_quotes_by_status(client: Any, tokens: Any, monkeypatch: Any) -> None:
    import datetime as dt

    from chalicelib import clock

    requested = [body_of(client.post("/quotes", quote_body()))["quote_id"] for _ in range(3)]
    accepted = _subscribe(client, 9)["quote_id"]
    staff = tokens("staff")
    listed = [q for page in _pages(client, "/quotes?status=requested", staff) for q in page]
    assert sorted(listed) == sorted(requested)
    first = body_of(client.get("/quotes?status=requested&limit=1", token=staff))["items"][0]
    assert first["contact_email"] == "jeanne.dupont@example.fr"  # staff see the e-mail in full
    assert [q["quote_id"] for q in body_of(client.get("/quotes?status=accepted", token=staff))["items"]] == [
        accepted
    ]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    expired = [q for page in _pages(client, "/quotes?status=expired", staff) for q in page]
    assert sorted(expired) == sorted(requested)


def test_listing_parameters_are_checked(client: Any, tokens: Any) -> None:
    staff = tokens("staff")
    for url, path in (
        ("/quotes?status=lost", "status"),
        ("/policies?status=lost", "status"),
        ("/policies?limit=0", "limit"),
        ("/policies?limit=abc", "limit"),
        ("/policies?limit=101", "limit"),
        ("/policies?next_token=not-a-token", "next_token"),
        ("/quotes?next_token=eyJ4IjoxfQ", "next_token"),
        ("/policies?colour=blue", "colour"),
        ("/quotes?colour=blue", "colour"),
    ):
        error = assert_error(client.get(url, token=staff), 400, "invalid_parameter")
        assert error["fields"][0]["path"] == path, url
    owner = tokens("owners")
    assert_error(client.get("/me/policies?next_token=%%%", token=owner), 400)
    assert (
        assert_error(client.get("/me/policies?status=active", token=owner), 400)["fields"][0]["path"]
        == "status"
    )


def test_owner_lists_own_policies(client: Any, tokens: Any, aws: dict[str, str]) -> None:
    first, second = _subscribe(client, 1), _subscribe(client, 2)
    sub = owner_sub_of(aws, first["policy_id"])
    items = body_of(client.get("/me/policies", token=tokens("owners", sub=sub)))["items"]
    assert [p["policy_id"] for p in items] == [first["policy_id"]]
    assert second["policy_id"] != first["policy_id"]


def test_attestation_is_printable_french_html(
    client: Any, tokens: Any, quote: dict[str, Any], aws: dict[str, str]
) -> None:
    body = subscription_body(quote["quote_id"])
    body["company"]["legal_name"] = "Dupont & Fils <script>alert(1)</script>"
    policy = body_of(client.post("/subscriptions", body))
    sub = owner_sub_of(aws, policy["policy_id"])
    response = client.get(f"/policies/{policy['policy_id']}/attestation", token=tokens("owners", sub=sub))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    page = response.body.decode()
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in page
    assert "Attestation d'assurance-crédit" in page
    assert policy["policy_id"] in page
    assert "732 829 320" in page
    assert "@media print" in page
    assert "@page" in page
    assert "<script>" not in page
    assert "Dupont &amp; Fils &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert IBAN[-8:] not in page
    staff = client.get(f"/policies/{policy['policy_id']}/attestation", token=tokens("staff"))
    assert staff.status_code == 200


def test_attestation_of_unknown_policy(client: Any, tokens: Any) -> None:
    assert_error(
        client.get("/policies/AC-2026-000000/attestation", token=tokens("staff")), 404, "policy_not_found"
    )
