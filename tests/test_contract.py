"""The JSON contract: errors name the field at fault in French, successes are deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from simulator import CURRENT_VERSION, available_versions, handle, handle_json, load_tariff

ROOT = Path(__file__).resolve().parent.parent
PROFILE = {
    "turnover": 750000,
    "b2b_share": 0.9,
    "sector": "manufacturing",
    "export": {"eu": 0.1},
    "buyers_count": 25,
    "top_buyers": [{"name": "Alpha", "share": 0.22, "grade": 3}, {"name": "Beta", "share": 0.1}],
    "payment_terms_days": 60,
    "past_losses": 4000,
    "company_age_years": 3,
}
INVOICE = {
    "id": "F-1",
    "buyer": "Alpha",
    "amount": "12000",
    "invoice_date": "2026-02-01",
    "due_date": "2026-04-01",
    "event": {"type": "insolvency", "date": "2026-04-20"},
    "declared_on": "2026-04-25",
}


def error_of(request: Any) -> dict[str, str]:
    response = handle(request)
    assert response["ok"] is False, response
    assert set(response) == {"ok", "error"}
    error = response["error"]
    assert set(error) == {"code", "message", "field"}
    assert isinstance(error["message"], str)
    assert len(error["message"]) > 5
    return error


def with_profile(**changes: Any) -> dict[str, Any]:
    return {"op": "quote", "profile": {**PROFILE, **changes}}


@pytest.mark.parametrize(
    ("request_", "code", "field"),
    [
        ({"op": "fly"}, "unknown_operation", "op"),
        ({}, "unknown_operation", "op"),
        ([1, 2], "invalid_request", ""),
        ({"op": "quote"}, "missing_field", "profile"),
        ({"op": "quote", "profile": PROFILE, "extra": 1}, "unknown_field", "extra"),
        (with_profile(color="blue"), "unknown_field", "profile.color"),
        (with_profile(sector="bakery"), "invalid_value", "profile.sector"),
        (with_profile(turnover=-10), "out_of_range", "profile.turnover"),
        (with_profile(turnover=0), "out_of_range", "profile.turnover"),
        (with_profile(turnover=1e12), "out_of_range", "profile.turnover"),
        (with_profile(turnover="beaucoup"), "invalid_type", "profile.turnover"),
        (with_profile(turnover=True), "invalid_type", "profile.turnover"),
        (with_profile(b2b_share=1.2), "out_of_range", "profile.b2b_share"),
        (with_profile(export={"eu": 0.7, "world": 0.5}), "invalid_combination", "profile.export"),
        (with_profile(export={"asia": 0.1}), "unknown_field", "profile.export.asia"),
        (with_profile(public_share=0.2), "invalid_combination", "profile.public_share"),
        (
            with_profile(top_buyers=[{"name": "A", "share": 0.5}, {"name": "B", "share": 0.45}]),
            "invalid_combination",
            "profile.top_buyers",
        ),
        (
            with_profile(top_buyers=[{"name": "A", "share": 0.1, "grade": 11}]),
            "out_of_range",
            "profile.top_buyers[0].grade",
        ),
        (
            with_profile(top_buyers=[{"name": "", "share": 0.1}]),
            "invalid_value",
            "profile.top_buyers[0].name",
        ),
        (
            with_profile(top_buyers=[{"name": "A", "share": 0.1}, {"name": "a", "share": 0.1}]),
            "invalid_value",
            "profile.top_buyers[1].name",
        ),
        (
            with_profile(top_buyers=[{"name": "A", "share": 0.15, "zone": "eu"}]),
            "invalid_combination",
            "profile.top_buyers[0].zone",
        ),
        (with_profile(buyers_count=1), "invalid_combination", "profile.buyers_count"),
        (with_profile(payment_terms_days=400), "out_of_range", "profile.payment_terms_days"),
        (with_profile(payment_terms_days=45.5), "invalid_type", "profile.payment_terms_days"),
        (with_profile(past_losses=-1), "out_of_range", "profile.past_losses"),
        (with_profile(turnover=1000, past_losses=5000), "invalid_combination", "profile.past_losses"),
        ({"op": "quote", "profile": PROFILE, "tariff_version": "1999.1"}, "unknown_tariff", "tariff_version"),
    ],
)
def test_request_errors_name_the_field(request_, code, field):
    error = error_of(request_)
    assert (error["code"], error["field"]) == (code, field), error


@pytest.mark.parametrize(
    ("options", "code", "field"),
    [
        ({"formula": "gold"}, "invalid_value", "options.formula"),
        ({"formula": "essentielle", "indemnity_pct": 90}, "out_of_range", "options.indemnity_pct"),
        ({"formula": "essentielle", "export_cover": "world"}, "invalid_combination", "options.export_cover"),
        (
            {"formula": "essentielle", "named_buyers": ["Alpha"]},
            "invalid_combination",
            "options.named_buyers",
        ),
        ({"formula": "tout_compris", "collection": False}, "invalid_combination", "options.collection"),
        ({"formula": "tout_compris", "litigation": False}, "invalid_combination", "options.litigation"),
        (
            {"formula": "selection", "automatic_threshold": 5000},
            "invalid_combination",
            "options.automatic_threshold",
        ),
        ({"formula": "selection", "public_buyers": True}, "invalid_combination", "options.public_buyers"),
        ({"formula": "selection", "named_buyers": ["Zeta"]}, "invalid_value", "options.named_buyers[0]"),
        (
            {"formula": "selection", "named_buyers": ["Alpha", "alpha"]},
            "invalid_value",
            "options.named_buyers[1]",
        ),
        ({"formula": "selection", "named_buyers": []}, "invalid_combination", "options.named_buyers"),
        ({"formula": "selection", "deductible": -5}, "out_of_range", "options.deductible"),
        ({"formula": "selection", "payment": "weekly"}, "invalid_value", "options.payment"),
        ({"formula": "selection", "speed": 1}, "unknown_field", "options.speed"),
    ],
)
def test_impossible_options_are_errors(options, code, field):
    error = error_of({"op": "quote", "profile": PROFILE, "options": options})
    assert (error["code"], error["field"]) == (code, field), error


def test_bound_is_stated_in_the_message():
    error = error_of(
        {"op": "quote", "profile": PROFILE, "options": {"formula": "essentielle", "indemnity_pct": 90}}
    )
    assert "Essentielle" in error["message"]
    assert "50" in error["message"]
    assert "70" in error["message"]
    assert "90" in error["message"]


def test_named_buyer_abroad_needs_export_cover():
    profile = {**PROFILE, "top_buyers": [{"name": "Hamburg GmbH", "share": 0.05, "zone": "eu"}]}
    error = error_of(
        {"op": "quote", "profile": profile, "options": {"formula": "selection", "export_cover": "none"}}
    )
    assert (error["code"], error["field"]) == ("invalid_combination", "options.export_cover")
    # By default Sélection's cover reaches the clients it names.
    ok = handle({"op": "quote", "profile": profile, "options": {"formula": "selection"}})
    assert ok["ok"]
    assert ok["result"]["terms"]["covered_zones"] == ["france", "eu"]
    assert ok["result"]["insured_segments"]["eu"] == "37500.00"


@pytest.mark.parametrize(
    ("invoice_changes", "field"),
    [
        ({"due_date": "2026-01-01"}, "invoices[0].due_date"),
        ({"declared_on": "2026-01-15"}, "invoices[0].declared_on"),
        ({"event": {"type": "protracted_default", "date": "2026-03-01"}}, "invoices[0].event.date"),
        ({"event": {"type": "fire"}}, "invoices[0].event.type"),
        ({"invoice_date": "2026-02-30"}, "invoices[0].invoice_date"),
        ({"invoice_date": "01/02/2026"}, "invoices[0].invoice_date"),
        ({"amount": 0}, "invoices[0].amount"),
        ({"recovered": "13000"}, "invoices[0].recovered"),
        ({"buyer": {"name": "Alpha", "zone": "mars"}}, "invoices[0].buyer.zone"),
        ({"colour": "red"}, "invoices[0].colour"),
    ],
)
def test_settle_errors_name_the_invoice_field(invoice_changes, field):
    terms = handle({"op": "quote", "profile": PROFILE})["result"]["terms"]
    error = error_of({"op": "settle", "terms": terms, "invoices": [{**INVOICE, **invoice_changes}]})
    assert error["field"] == field, error


def test_duplicate_invoice_ids_are_refused():
    terms = handle({"op": "quote", "profile": PROFILE})["result"]["terms"]
    error = error_of({"op": "settle", "terms": terms, "invoices": [INVOICE, INVOICE]})
    assert error["field"] == "invoices[1].id"


def test_success_shape_and_determinism():
    request = {"op": "compare", "profile": PROFILE}
    first = handle_json(json.dumps(request))
    reordered = json.dumps(dict(reversed(list(request.items()))))
    assert handle_json(reordered) == first == handle_json(json.dumps(request))
    response = json.loads(first)
    assert response["ok"] is True
    assert response["tariff_version"] == CURRENT_VERSION
    assert set(response) == {"ok", "tariff_version", "result"}


def test_invalid_json_text():
    response = json.loads(handle_json("{not json"))
    assert response["error"]["code"] == "invalid_request"


def test_compare_shows_selection_unavailable_without_named_buyers():
    profile = {**PROFILE, "top_buyers": []}
    result = handle({"op": "compare", "profile": profile})["result"]
    selection = result["formulas"][1]
    assert selection["formula"] == "selection"
    assert selection["available"] is False
    assert selection["error"]["field"] == "options.selection.named_buyers"
    assert result["recommended"]["formula"] != "selection"


def test_every_formula_result_has_the_contract_fields():
    result = handle({"op": "compare", "profile": PROFILE})["result"]
    for formula in result["formulas"]:
        assert {
            "formula",
            "premium",
            "rate_per_mille",
            "insured_turnover",
            "minimum_applied",
            "explanation",
            "terms",
        } <= set(formula)
        assert set(formula["premium"]) == {"net", "fees", "tax", "total", "monthly"}
        assert all(len(v.split(".")[1]) == 2 for v in formula["premium"].values())
        terms = formula["terms"]
        for key in (
            "indemnity_pct",
            "automatic_threshold",
            "named_limits",
            "max_credit_days",
            "declaration_deadline_days",
            "waiting_period_days",
            "deductible",
            "max_liability",
            "exclusions",
        ):
            assert key in terms
        assert all({"factor", "label", "value", "effect"} <= set(step) for step in formula["explanation"])


def test_settle_uses_the_tariff_of_the_terms():
    terms = handle({"op": "quote", "profile": PROFILE})["result"]["terms"]
    assert terms["tariff_version"] in available_versions()
    response = handle({"op": "settle", "terms": terms, "invoices": [INVOICE]})
    assert response["tariff_version"] == terms["tariff_version"]
    assert load_tariff(terms["tariff_version"]).version == terms["tariff_version"]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "simulator", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_cli_reads_stdin_and_files(tmp_path):
    request = json.dumps({"op": "quote", "profile": PROFILE})
    from_stdin = run_cli(stdin=request)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout.strip() == handle_json(request)
    path = tmp_path / "request.json"
    path.write_text(request, encoding="utf-8")
    from_file = run_cli(str(path))
    assert from_file.returncode == 0
    assert from_file.stdout == from_stdin.stdout


@pytest.mark.parametrize("stdin", ['{"op": "quote", "profile": {"turnover": -1}}', "not json", "[]"])
def test_cli_request_errors_exit_2_without_traceback(stdin):
    result = run_cli(stdin=stdin)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert json.loads(result.stdout)["ok"] is False


def test_cli_missing_file_exits_2():
    result = run_cli("/nonexistent/request.json")
    assert result.returncode == 2
    assert json.loads(result.stdout)["error"]["code"] == "unreadable_input"
