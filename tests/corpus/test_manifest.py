"""The corpus is checked itself: enough distinct kinds, every issue-6 kind, unambiguous expectations."""

from __future__ import annotations

import re

import pytest

from functions.model import MAX_MESSAGE_BYTES, ErrorType
from tests.corpus.corpus import GENERATORS, Case, load_cases

CASES = load_cases()

ISSUE_KINDS = [
    "truncated",
    "trailing comma",
    "NaN",
    "Infinity",
    "scalar",
    "null",
    "empty file",
    "0-byte",
    "byte order mark",
    "non-UTF-8",
    "nested",
    "message limit",
    "262,144",
    "262,145",
    "0.1",
    "1e400",
    "-0",
    "39 significant digits",
    "usd",
    "US",
    "€€€",
    "email with a space",
    "unicode characters",
    "future",
    "without offset",
    "garbage",
    "duplicated key",
    "snake and camel",
    "unknown field",
    "spaces, +, % and unicode",
    "non-.json suffix",
    ".JSON",
    "JSON Lines with blank lines and a bad line",
    "100,000 records",
]


def test_at_least_thirty_distinct_kinds() -> None:
    kinds = {case.kind for case in CASES}
    assert len(kinds) == len(CASES) >= 30


@pytest.mark.parametrize("needle", ISSUE_KINDS)
def test_every_kind_the_issue_lists_is_in_the_corpus(needle: str) -> None:
    assert any(needle in case.kind for case in CASES), needle


def test_ids_are_unique_and_every_payload_exists() -> None:
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        generator = case.entry.get("generate")
        if generator:
            assert generator in GENERATORS or generator == "array_100k", case.id
        elif case.file is not None:
            assert case.file.is_file(), case.id


def test_markers_identify_one_case_each() -> None:
    """LogTable items are attributed to cases by marker substrings: no marker may be inside another case's."""
    owners: dict[str, str] = {}
    for case in CASES:
        for marker in case.markers():
            owners.setdefault(marker, case.id)
            assert owners[marker] == case.id, marker
    for marker, owner in owners.items():
        for other, other_owner in owners.items():
            if other_owner != owner:
                assert marker not in other, (marker, other)


@pytest.mark.parametrize(
    "case", [c for c in CASES if any(e.get("logged") for e in c.alternatives)], ids=lambda c: c.id
)
def test_logged_expectations_are_well_formed(case: Case) -> None:
    for log in (log for expect in case.alternatives for log in expect.get("logged", [])):
        types = log["error_type"] if isinstance(log["error_type"], list) else [log["error_type"]]
        assert {ErrorType(t) for t in types}
        for pattern in log["reason"]:
            re.compile(pattern)


def test_generated_bodies_sit_exactly_on_the_limit() -> None:
    assert len(GENERATORS["body_at_limit"]()) == MAX_MESSAGE_BYTES
    assert len(GENERATORS["body_over_limit"]()) == MAX_MESSAGE_BYTES + 1
