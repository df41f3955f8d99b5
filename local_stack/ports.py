"""Default ports of the local stack (documented in docs/local-stack.md).

Fixed defaults so that ``aws --endpoint-url http://127.0.0.1:4580`` works without looking anything up; they
sit next to, not on, LocalStack's 4566 so that both can run on one machine. 0 means "any free port".
"""

from __future__ import annotations

DEFAULT_EMULATOR_PORT = 4580
"""moto (S3, SQS, DynamoDB, SSM, CloudWatch) on 127.0.0.1."""

DEFAULT_API_PORT = 4581
"""The API Gateway stand-in (``POST /writer``) on 127.0.0.1."""

HOST = "127.0.0.1"
"""The local stack never listens on anything but loopback."""
