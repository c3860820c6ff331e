"""POST /quotes, GET /quotes/{id}, replay of stored quotes, engine and validation errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import simulator

from .conftest import PROFILE, assert_error, body_of, count_items, quote_body


def test_create_quote_prices_on_the_server(client: Any) -> None:
    response = client.post("/quotes", quote_body(broker_id="courtier-42"))
    assert response.status_code == 201
    quote = body_of(response)
    expected = simulator.handle(
        {"op": "quote", "profile": PROFILE, "options": {"formula": "essentielle", "indemnity_pct": 70}}
    )
    assert quote["result"] == expected["result"]
    assert quote["premium"] == expected["result"]["premium"]
    assert quote["tariff_version"] == expected["tariff_version"]
    assert quote["status"] == "requested"
    assert quote["formula"] == "essentielle"
    assert quote["broker_id"] == "courtier-42"
    assert quote["contact_email"] == "j***@example.fr"
    assert quote["quote_id"].startswith("q_")
    assert len(quote["quote_id"]) >= 24
    assert response.headers["Location"] == f"/quotes/{quote['quote_id']}"
    created = dt.datetime.fromisoformat(quote["created_at"])
    assert dt.datetime.fromisoformat(quote["expires_at"]) - created == dt.timedelta(days=30)
    assert "terms" in quote["result"]


def test_a_price_sent_by_the_client_is_refused(client: Any) -> None:
    error = assert_error(
        client.post("/quotes", quote_body(premium={"total": "1.00"})), 422, "validation_error"
    )
    assert error["fields"] == [{"path": "premium", "message": "champ inconnu"}]
    options = {"formula": "essentielle", "premium": "1.00"}
    error = assert_error(client.post("/quotes", quote_body(options=options)), 422)
    assert error["fields"][0]["path"] == "options.premium"


def test_get_quote_by_id(client: Any, quote: dict[str, Any]) -> None:
    response = client.get(f"/quotes/{quote['quote_id']}")
    assert response.status_code == 200
    assert body_of(response) == quote


def test_unknown_quote_is_404(client: Any) -> None:
    assert_error(client.get("/quotes/q_doesnotexist0000000000"), 404, "quote_not_found")


def test_stored_quote_replays_identically(client: Any, quote: dict[str, Any]) -> None:
    from chalicelib import quoting, services

    record = services.get().quotes.get(quote["quote_id"])
    assert record is not None
    replayed = quoting.replay(record)
    assert replayed["ok"]
    assert replayed["tariff_version"] == record.tariff_version
    assert replayed["result"] == record.result == quote["result"]


def test_old_tariff_still_replays_after_a_new_one_ships(
    client: Any, quote: dict[str, Any], monkeypatch: Any
) -> None:
    """A new tariff version prices new quotes; stored quotes replay under their own version."""
    import dataclasses

    from chalicelib import quoting, services

    from simulator import tariff as tariff_module

    old = tariff_module.load_tariff(quote["tariff_version"])
    data = dict(old.data)
    formulas = {name: dict(spec) for name, spec in old.data["formulas"].items()}
    formulas["essentielle"]["base_rate_per_mille"] = formulas["essentielle"]["base_rate_per_mille"] * 2
    data["formulas"] = formulas
    new = dataclasses.replace(old, version="2099.1", data=data)
    versions = (*tariff_module.available_versions(), "2099.1")
    original_load = tariff_module._load
    monkeypatch.setattr(tariff_module, "CURRENT_VERSION", "2099.1")
    monkeypatch.setattr(tariff_module, "available_versions", lambda: versions)
    monkeypatch.setattr(tariff_module, "_load", lambda v: new if v == "2099.1" else original_load(v))

    fresh = body_of(client.post("/quotes", quote_body()))
    assert fresh["tariff_version"] == "2099.1"
    assert fresh["premium"] != quote["premium"]
    record = services.get().quotes.get(quote["quote_id"])
    assert record is not None
    assert quoting.replay(record)["result"] == quote["result"]


def test_engine_errors_are_422_with_the_engine_field_path(client: Any) -> None:
    body = quote_body()
    body["profile"]["turnover"] = -5
    error = assert_error(client.post("/quotes", body), 422, "out_of_range")
    assert error["fields"][0]["path"] == "profile.turnover"
    body = quote_body(options={"formula": "tout_compris", "collection": False})
    error = assert_error(client.post("/quotes", body), 422, "invalid_combination")
    assert error["fields"][0]["path"] == "options.collection"


def test_validation_errors_name_every_field(client: Any) -> None:
    body = quote_body(contact_email="pas-un-email")
    body["profile"]["top_buyers"][0]["share"] = "beaucoup"
    del body["profile"]["sector"]
    error = assert_error(client.post("/quotes", body), 422, "validation_error")
    paths = {f["path"]: f["message"] for f in error["fields"]}
    assert paths == {
        "contact_email": "adresse e-mail invalide",
        "profile.top_buyers[0].share": "doit être un nombre",
        "profile.sector": "champ obligatoire",
    }


def test_malformed_json_is_400(client: Any) -> None:
    assert_error(client.post("/quotes", b'{"profile": '), 400, "invalid_json")
    assert_error(client.post("/quotes", b"[1, 2]"), 400, "invalid_body")
    assert_error(client.post("/quotes", b"[" * 5000), 400)


def test_wrong_content_type_and_method_use_the_error_shape(client: Any) -> None:
    response = client.request("POST", "/quotes", b"profile=1", Content_Type="text/plain")
    assert_error(response, 415, "unsupported_media_type")
    assert_error(client.request("DELETE", "/quotes"), 405, "method_not_allowed")


def test_nothing_is_stored_for_a_refused_quote(client: Any, aws: dict[str, str]) -> None:
    body = quote_body()
    body["profile"]["turnover"] = 0
    assert client.post("/quotes", body).status_code == 422
    assert count_items(aws["QUOTES_TABLE"]) == 0


def test_quote_expires_after_30_days(client: Any, quote: dict[str, Any], monkeypatch: Any) -> None:
    from chalicelib import clock

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30, seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert body_of(client.get(f"/quotes/{quote['quote_id']}"))["status"] == "expired"
