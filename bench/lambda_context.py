"""The Lambda context a bench hands a real handler: the attributes Powertools reads, and all the time in the
world (a bench measures the handler's work, not its deadline)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchContext:
    function_name: str
    memory_limit_in_mb: int
    function_version: str = "$LATEST"
    aws_request_id: str = "bench"
    log_stream_name: str = "bench"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
