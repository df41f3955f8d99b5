"""The emulator's port refuses a web page in the developer's browser, as the API stand-in does.

moto's server grants CORS to any origin; a page on ``http://evil.example`` could otherwise ``PUT`` an object
into the local bucket unsigned and read the bucket's key listing. Real HTTP on 127.0.0.1 to the emulator the
local stack serves (moto behind the local stack's gates); boto3 must not notice any of it.
"""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from local_stack.faults import FaultSwitch
from local_stack.server import EmulatorServer, PutItemWatch, WriteTally

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    server = EmulatorServer(watch=PutItemWatch(faults=FaultSwitch(), tally=WriteTally()))
    server.start()
    try:
        yield server.endpoint_url
    finally:
        server.stop()


@pytest.fixture
def bucket(emulator: str) -> str:
    name = f"cors-{uuid.uuid4().hex[:12]}"
    s3(emulator).create_bucket(Bucket=name)
    return name


def s3(endpoint: str) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint)


def request(endpoint: str, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple:
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def test_a_preflight_from_another_site_gets_no_grant(emulator: str, bucket: str) -> None:
    status, headers, _ = request(
        emulator,
        "OPTIONS",
        f"/{bucket}/planted.json",
        {
            "Origin": EVIL,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-amz-meta-a",
        },
    )

    assert status == 403
    assert cors_headers(headers) == {}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/{bucket}?list-type=2", b""),  # a simple request: the browser sends it without asking
        ("POST", "/{bucket}/planted.json", b"[]"),
        ("PUT", "/{bucket}/planted.json", b'[{"account_id": "a-1"}]'),
    ],
)
def test_a_request_from_another_site_is_refused_and_writes_nothing(
    emulator: str, bucket: str, method: str, path: str, body: bytes
) -> None:
    status, headers, _ = request(
        emulator, method, path.format(bucket=bucket), {"Origin": EVIL, "Content-Type": "text/plain"}, body
    )

    assert status == 403
    assert cors_headers(headers) == {}
    assert s3(emulator).list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_a_cross_site_fetch_without_origin_is_refused(emulator: str, bucket: str) -> None:
    status, _, _ = request(emulator, "GET", f"/{bucket}", {"Sec-Fetch-Site": "cross-site"})
    assert status == 403


def test_programs_and_the_emulators_own_origin_work_and_get_no_cors_either(
    emulator: str, bucket: str
) -> None:
    client = s3(emulator)
    client.put_object(Bucket=bucket, Key="k.json", Body=b"[]", Metadata={"a": "b"})
    listed = client.list_objects_v2(Bucket=bucket)
    status, headers, body = request(emulator, "GET", f"/{bucket}?list-type=2", {"Origin": emulator})

    assert [entry["Key"] for entry in listed["Contents"]] == ["k.json"]
    assert status == 200 and b"k.json" in body
    assert cors_headers(headers) == {}
