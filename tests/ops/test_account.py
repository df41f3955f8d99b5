"""``ops.account``: an account's item, where its value came from, and its failures (mock_aws)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ops.account import account_story
from ops.errors import InvalidInput, NotFound
from ops.target import resolve_target
from tests.support.cli import DEPLOYED_STACK, Stack, dynamodb_resource

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def put_account(stack: Stack, account_id: str, **overrides: Any) -> dict[str, Any]:
    """An AccountTable item shaped as the writer stores it (functions.writer.store.to_item)."""
    item = {
        "account_id": account_id,
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "balance": Decimal("12345678901234567890.12"),
        "currency": "GBP",
        "status": "active",
        "updated_at": "2026-03-01T11:00:00.000000Z",
        "source": "s3://data/in/accounts.json",
        "ingested_at": "2026-03-01T12:00:03.000000Z",
        "ingest_order": "2026-03-01T12:00:00.000000Z#0000000041#s3://data/in/accounts.json?versionId=v-7",
        **overrides,
    }
    dynamodb_resource(stack.endpoint_url).Table(stack.outputs["account_table"]).put_item(Item=item)
    return item


def test_an_s3_account_tells_object_version_position_and_failures_newest_first(deployed: Stack) -> None:
    # GIVEN an account written from line 41 of a versioned object, and three failures: two its own
    put_account(deployed, "acct-1")
    deployed.put_error("old", failed_at=T0 - timedelta(days=1), account_id="acct-1")
    deployed.put_error("new", failed_at=T0, account_id="acct-1", message="email: not an email address")
    deployed.put_error("other", failed_at=T0, account_id="acct-2")
    deployed.put_error("batch", failed_at=T0, error_type="RetriesExhausted")  # no account_id: not indexed

    # WHEN its story is asked for
    story = account_story(resolve_target(DEPLOYED_STACK), "acct-1")

    # THEN the item is as stored, the origin is read from its order key, and only its failures are listed
    assert story.item is not None and story.item["balance"] == Decimal("12345678901234567890.12")
    assert story.origin is not None
    assert (story.origin.object, story.origin.version) == ("s3://data/in/accounts.json", "v-7")
    assert story.origin.position == 41 and story.origin.message_id is None
    assert story.origin.entered_at == "2026-03-01T12:00:00.000000Z"
    assert story.origin.ingested_at == "2026-03-01T12:00:03.000000Z"
    assert [failure["error_id"] for failure in story.failures] == ["new", "old"]
    assert story.failures[0]["error_message"] == "email: not an email address"
    assert "body" not in story.failures[0]  # the body is errors show's job
    # and the JSON form keeps the balance's every digit
    assert story.to_dict()["item"]["balance"] == "12345678901234567890.12"


def test_an_api_account_names_its_message(deployed: Stack) -> None:
    put_account(
        deployed,
        "acct-api",
        source="api",
        ingest_order="2026-03-01T12:00:00.000000Z#0000000002#9b1d2c3e-message-id",
    )

    story = account_story(resolve_target(DEPLOYED_STACK), " acct-api ")  # trimmed, as records are

    assert story.origin is not None and story.origin.via_api
    assert story.origin.message_id == "9b1d2c3e-message-id" and story.origin.position == 2
    assert story.origin.object is None and story.origin.version is None
    assert story.failures == []


def test_an_account_never_written_still_shows_its_failures(deployed: Stack) -> None:
    deployed.put_error("only", failed_at=T0, account_id="acct-x")

    story = account_story(resolve_target(DEPLOYED_STACK), "acct-x")

    assert story.item is None and story.origin is None
    assert [failure["error_id"] for failure in story.failures] == ["only"]
    assert story.to_dict()["item"] is None


def test_many_failures_are_read_across_pages(deployed: Stack) -> None:
    body = '{"account_id": "busy", "pad": "' + "x" * 30_000 + '"}'  # ~30 KB each: several 1 MB pages
    for number in range(70):
        deployed.put_error(
            f"e{number:03d}", failed_at=T0 + timedelta(seconds=number), account_id="busy", body=body
        )

    story = account_story(resolve_target(DEPLOYED_STACK), "busy")

    assert [failure["error_id"] for failure in story.failures] == [f"e{n:03d}" for n in reversed(range(70))]


def test_an_unknown_account_is_not_found_with_a_hint(deployed: Stack) -> None:
    with pytest.raises(NotFound) as raised:
        account_story(resolve_target(DEPLOYED_STACK), "nobody")
    assert "no account 'nobody'" in raised.value.message
    assert raised.value.hint and "errors tail" in raised.value.hint


def test_an_empty_id_is_bad_input(deployed: Stack) -> None:
    with pytest.raises(InvalidInput):
        account_story(resolve_target(DEPLOYED_STACK), "  ")
