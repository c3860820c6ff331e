"""Worked examples: figures derived by hand in ``tests/data/*.json``, checked against the engine.

Each file is ``{"title", "op", "request", "expected", "working"}``: ``working`` is the
hand derivation a reviewer can follow line by line, ``expected`` a partial response.
Objects in ``expected`` are compared on the keys they give only (recursively); lists are
compared element by element and must have the same length, so a list of reasons is
checked whole. A file with ``"known_bug": "..."`` keeps the hand figure the engine
disagrees with; its test is expected to fail (strict xfail) until the bug is fixed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import simulator

DATA_DIR = Path(__file__).resolve().parent / "data"
EXAMPLE_FILES = sorted(DATA_DIR.glob("*.json"))
REQUIRED_KEYS = {"title", "op", "request", "expected", "working"}
OPTIONAL_KEYS = {"known_bug"}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def first_mismatch(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Path and values of the first place where ``actual`` differs from the partial ``expected``."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing (expected {value!r})"
            found = first_mismatch(value, actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list, got {actual!r}"
        for i, (want, got) in enumerate(zip(expected, actual, strict=False)):
            found = first_mismatch(want, got, f"{path}[{i}]")
            if found:
                return found
        if len(expected) != len(actual):
            return f"{path}: expected {len(expected)} items, got {len(actual)}: {actual!r}"
        return None
    # bool is an int in Python: True must not pass for 1, nor 1 for True.
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return f"{path}: expected {expected!r}, got {actual!r}"
    return None


def _param(path: Path) -> Any:
    example = _load(path)
    marks = []
    if example.get("known_bug"):
        marks.append(pytest.mark.xfail(strict=True, reason=f"known bug: {example['known_bug']}"))
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in EXAMPLE_FILES])
def test_worked_example(path: Path) -> None:
    example = _load(path)
    response = simulator.handle(example["request"])
    mismatch = first_mismatch(example["expected"], response)
    assert mismatch is None, f"{example['title']}\n{mismatch}"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_example_file_shape(path: Path) -> None:
    example = _load(path)
    assert isinstance(example, dict)
    assert REQUIRED_KEYS <= example.keys() <= REQUIRED_KEYS | OPTIONAL_KEYS
    assert example["op"] == example["request"].get("op")
    assert isinstance(example["expected"], dict)
    assert example["working"]
    assert all(isinstance(line, str) and line.strip() for line in example["working"])


def test_examples_cover_every_required_case() -> None:
    ops = [_load(p)["op"] for p in EXAMPLE_FILES]
    assert ops.count("settle") >= 6
    assert ops.count("compare") >= 3
    assert ops.count("quote") >= 2


@pytest.mark.parametrize(
    ("expected", "actual", "message"),
    [
        ({"a": {"b": [1, {"c": "x"}]}}, {"a": {"b": [1, {"c": "x", "d": 0}]}, "z": 1}, None),
        ({"a": {"b": [1, {"c": "x"}]}}, {"a": {"b": [1, {"c": "y"}]}}, "$.a.b[1].c: expected 'x', got 'y'"),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, "$.a: expected 2 items, got 3: [1, 2, 3]"),
        ({"a": 1}, {"b": 1}, "$.a: missing (expected 1)"),
        ({"a": True}, {"a": 1}, "$.a: expected True, got 1"),
        ({"a": None}, {"a": "2026-01-01"}, "$.a: expected None, got '2026-01-01'"),
    ],
)
def test_first_mismatch_reports_the_path(expected: Any, actual: Any, message: str | None) -> None:
    assert first_mismatch(expected, actual) == message
