"""pipeline-ctl as a real process: for what only a real process shows (signals, a terminal, the registry)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[2]


def cli_env(**extra: str) -> dict[str, str]:
    """The test's environment (fake AWS credentials, its XDG_STATE_HOME) with the checkout importable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def pipeline_ctl(*args: str) -> list[str]:
    return [sys.executable, "-m", "cli.app", *args]


def spawn(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        pipeline_ctl(*args),
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        pipeline_ctl(*args), cwd=cwd, env=env or cli_env(), capture_output=True, text=True, timeout=timeout
    )


T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], *, timeout: float = 30, what: str = "condition") -> T:
    """The first true value ``condition`` returns, polled until ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


class Terminal:
    """pipeline-ctl on a pseudo-terminal of a given size: what an operator at a real terminal sees."""

    def __init__(self, *args: str, cwd: Path, columns: int = 100, env: dict[str, str] | None = None) -> None:
        controller, child = pty.openpty()
        environment = cli_env(COLUMNS=str(columns), LINES="40", TERM="xterm-256color", **(env or {}))
        self.process = subprocess.Popen(
            pipeline_ctl(*args), cwd=cwd, env=environment, stdin=child, stdout=child, stderr=child
        )
        os.close(child)
        self._fd = controller
        self.output = b""

    def read_until(self, needle: bytes, *, timeout: float = 30) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.output:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not seen; terminal showed {self.output[-2000:]!r}")
            self._read(0.1)
        return self.output

    def _read(self, wait: float) -> None:
        ready, _, _ = select.select([self._fd], [], [], wait)
        if ready:
            try:
                self.output += os.read(self._fd, 65536)
            except OSError:  # the child closed the terminal
                time.sleep(wait)

    def finish(self, *, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        self._read(0.05)
        code = self.process.wait(timeout=1)
        os.close(self._fd)
        return code

    @property
    def text(self) -> str:
        """What was written, without the terminal's control sequences (colours, cursor moves)."""
        return _CONTROL.sub("", self.output.decode("utf-8", "replace"))


_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
