"""The entry time a replay carries in S3 object metadata, and the proof that the pipeline wrote it.

A Transformer give-up is replayed by copying its object onto itself (``ops.redrive``); the copy's
``ObjectCreated`` event has a new time, so the original one travels in the object's user metadata. Anyone who
can upload can set user metadata too, and an entry time is worth forging: it orders the records (a far-future
one makes an account's later updates stale forever) and it is what the future-skew rule measures from. So the
value is believed only with a MAC beside it, made by the stack's KMS HMAC key
(``GenerateMac``/``VerifyMac``, ``HMAC_SHA_256``), which only the replay's operators may use to sign and only
the Transformer to verify:

    pipeline-entered-at      2026-03-01T10:00:00.000000Z        (the pipeline's one timestamp form)
    pipeline-entered-at-mac  base64 MAC of "<version>\\n<bucket>\\n<key>\\n<entered-at>"

The message names the bucket and key, so a signed value cannot be moved to another object. Copied onto new
content under the same key, it can only make that content older than it is (and never later than its event:
:func:`trusted_entry_time` clamps), which can only make its records lose, never win.

Anything else — no MAC, a wrong one, another form of time (compact, offsets, out of range), no key configured,
a key KMS refuses — is ignored with a reason for the log, and the event time is used: no metadata value can
fail the Transformer.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from functions.model import ENTERED_AT_METADATA

ENTERED_AT_MAC_METADATA = "pipeline-entered-at-mac"
"""S3 user metadata: the KMS MAC (base64) proving the pipeline wrote :data:`ENTERED_AT_METADATA`."""
KEY_VARIABLE = "ENTRY_TIME_KEY_ID"
"""The Transformer's setting: the KMS HMAC key (ARN) that signs replays' entry times; unset, none is
believed."""
MAC_ALGORITHM = "HMAC_SHA_256"
MESSAGE_VERSION = "pipeline-entered-at/1"

_PIPELINE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
MAX_MAC_BYTES = 64
"""VerifyMac takes at most 64 bytes of MAC; longer metadata is refused before any call."""
TRANSIENT_CODES = frozenset(
    {"ThrottlingException", "KMSInternalException", "DependencyTimeoutException", "InternalFailure"}
)
"""KMS errors that say "try again": raised, so Lambda retries the event, rather than losing the entry time."""


def mac_message(bucket: str, key: str, entered_at: str) -> bytes:
    """What the MAC covers: the object's place and the time, one per line."""
    return "\n".join((MESSAGE_VERSION, bucket, key, entered_at)).encode("utf-8", "surrogatepass")


def sign(kms: Any, key_id: str, *, bucket: str, key: str, entered_at: str) -> dict[str, str]:
    """The two metadata entries a replay writes for an object (``entered_at`` in the pipeline's form)."""
    if not _PIPELINE_TIME.fullmatch(entered_at):
        raise ValueError(f"entry time {entered_at!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    answer = kms.generate_mac(
        KeyId=key_id, MacAlgorithm=MAC_ALGORITHM, Message=mac_message(bucket, key, entered_at)
    )
    return {
        ENTERED_AT_METADATA: entered_at,
        ENTERED_AT_MAC_METADATA: base64.b64encode(answer["Mac"]).decode("ascii"),
    }


@dataclass(frozen=True)
class EntryTime:
    """When an object's records entered the pipeline, and why the metadata was not used (if it was not)."""

    moment: datetime
    ignored: str | None = None
    """None when the metadata was honoured or absent; else the reason it was not (for the log)."""


def parse_pipeline_time(text: str) -> datetime | None:
    """The pipeline's own form only (``2026-03-01T10:00:00.000000Z``); None for anything else."""
    if not _PIPELINE_TIME.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:  # 2026-02-30 and the like
        return None


def trusted_entry_time(
    metadata: dict[str, str],
    *,
    bucket: str,
    key: str,
    event_time: datetime,
    kms: Callable[[], Any],
    key_id: str | None,
) -> EntryTime:
    """The object's entry time: the signed metadata when the MAC verifies, never later than ``event_time``;
    else ``event_time`` with the reason the metadata was ignored. ``kms`` makes the KMS client, called only
    when there is a MAC to verify (most objects carry none)."""
    claimed = metadata.get(ENTERED_AT_METADATA)
    mac_text = metadata.get(ENTERED_AT_MAC_METADATA)
    if claimed is None and mac_text is None:
        return EntryTime(event_time)

    def ignored(reason: str) -> EntryTime:
        return EntryTime(event_time, f"{ENTERED_AT_METADATA} {_shown(claimed)} ignored: {reason}")

    if claimed is None:
        return ignored("a MAC without a time")
    moment = parse_pipeline_time(claimed)
    if moment is None:
        return ignored("not a time the pipeline writes (YYYY-MM-DDTHH:MM:SS.ffffffZ)")
    if not mac_text:
        return ignored("not signed by the pipeline (no MAC)")
    try:
        mac = base64.b64decode(mac_text, validate=True)
    except (binascii.Error, ValueError):
        return ignored("its MAC is not base64")
    if not mac or len(mac) > MAX_MAC_BYTES:
        return ignored("its MAC has the wrong length")
    if not key_id:
        return ignored(f"no signing key configured ({KEY_VARIABLE} unset)")
    from botocore.exceptions import ClientError

    try:
        kms().verify_mac(
            KeyId=key_id, MacAlgorithm=MAC_ALGORITHM, Message=mac_message(bucket, key, claimed), Mac=mac
        )
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code"))
        if code in TRANSIENT_CODES:
            raise
        if code == "KMSInvalidMacException":
            return ignored("its MAC does not verify (not written by this stack's replay)")
        return ignored(f"KMS refused to verify it ({code})")
    if moment > event_time:
        return EntryTime(event_time, f"{ENTERED_AT_METADATA} {claimed} is later than the event: clamped")
    return EntryTime(moment)


def _shown(value: str | None, limit: int = 80) -> str:
    """A metadata value for a log line: escaped (it is whatever an uploader sent) and bounded."""
    if value is None:
        return "(absent)"
    shown = ascii(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
