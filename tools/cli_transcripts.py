"""The transcripts in docs/cli.md, generated from real runs: ``make docs`` writes them, a test checks them.

Each transcript is a block of docs/cli.md between ``<!-- transcript NAME -->`` and ``<!-- /transcript -->``,
filled from :data:`EXAMPLES` [NAME]: its commands are run, in order, as real ``pipeline-ctl`` processes
(piped, ``COLUMNS=80``) against a real local stack started in this process (moto and the real handlers, on
free ports, in an empty directory holding :data:`INPUT_FILES`), and each is shown with what it printed and
its exit code. The pipeline is left idle after every command, so each transcript sees what the previous
ones did. What changes from run to run is masked so that the output is deterministic: ids become
``00000000-0000-4000-8000-00000000000N`` in order of appearance, times and days become fixed ones of the
same shape, the directory ``/tmp/cli-docs``, the ports 4580 and 4581, durations and epoch seconds fixed
numbers.

To document a command, add one :class:`Example` (and its block in docs/cli.md); a command with neither an
example nor a reason in :data:`NOT_TRANSCRIBED` fails ``tests/cli/test_docs.py``.

    python -m tools.cli_transcripts           # rewrite docs/cli.md
    python -m tools.cli_transcripts --check   # exit 1 and print a diff when it is not current
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"
SHOWN_DIRECTORY = "/tmp/cli-docs"
SHOWN_PORTS = ("4580", "4581")
COLUMNS = 80


@dataclass(frozen=True)
class Example:
    """One transcript: the commands run, as typed (``{name}`` is filled from :data:`PLACEHOLDERS`)."""

    name: str
    commands: tuple[str, ...]

    def command_paths(self) -> set[str]:
        """The pipeline-ctl commands it shows (``errors show``), for the undocumented-command check."""
        return {_command_path(command) for command in self.commands}


INPUT_FILES = {
    "accounts.jsonl": (
        '{"account_id": "acc-001", "name": "Ada Lovelace", "email": "ada@example.com", "balance": "120.50", '
        '"currency": "eur"}\n'
        '{"account_id": "acc-002", "name": "Alan Turing", "email": "alan@example.com", "balance": "abc", '
        '"currency": "GBP"}\n'
        '{"accountId": "acc-003", "name": "Grace Hopper", "email": "grace@example.com", "balance": 99.99, '
        '"currency": "USD"}\n'
    ),
    "accounts.json": (
        "[\n"
        '  {"account_id": "acc-101", "name": "Edsger Dijkstra", "email": "edsger@example.com", '
        '"balance": "10", "currency": "EUR", "updated_at": "2026-06-01T00:00:00Z"},\n'
        '  {"account_id": "acc-102", "name": "Barbara Liskov", "email": "barbara@example", "balance": "20", '
        '"currency": "USD", "updated_at": "2026-06-01T00:00:00Z"},\n'
        '  {"account_id": "acc-103", "name": "Donald Knuth", "email": "don@example.com", "balance": "30", '
        '"currency": "USD", "updated_at": "2026-06-01T00:00:00Z"}\n'
        "]\n"
    ),
    "broken.jsonl": '{"account_id": "acc-201", "balance": "1"}\n{"account_id": oops}\n',
    "empty.json": "",
    "notes.txt": "not data\n",
}

EXAMPLES: tuple[Example, ...] = (
    Example("inputs", ("cat accounts.jsonl", "cat accounts.json")),
    Example(
        "send",
        (
            "pipeline-ctl send accounts.jsonl",
            'pipeline-ctl send --record \'{"account_id": "acc-004", "name": "Ken", '
            '"email": "ken@example.com", "balance": "1", "currency": "USD"}\'',
            "pipeline-ctl send broken.jsonl",
            "pipeline-ctl send missing.jsonl",
            "pipeline-ctl send empty.json",
        ),
    ),
    Example("upload-refused", ("pipeline-ctl upload notes.txt", "pipeline-ctl upload empty.json")),
    Example(
        "upload-wait",
        (
            "pipeline-ctl upload accounts.json --prefix incoming --wait",
            "pipeline-ctl -q upload accounts.json --prefix incoming --wait --strict",
        ),
    ),
    Example(
        "errors-tail",
        (
            "pipeline-ctl errors tail --since 1h",
            "pipeline-ctl errors tail --since 1h --limit 1 --json",
            "pipeline-ctl errors tail --since 1h --error-type InvalidRecords",
        ),
    ),
    Example(
        "errors-wide", ("pipeline-ctl errors tail --since 1h --error-type InvalidRecord --limit 1 --wide",)
    ),
    Example("errors-show", ("pipeline-ctl errors show {invalid_id}", "pipeline-ctl errors show nope")),
    Example("account-show", ("pipeline-ctl account show acc-101", "pipeline-ctl account show acc-102")),
    Example(
        "replay",
        (
            "pipeline-ctl replay-dlq",
            "pipeline-ctl replay-dlq --dry-run --since 1h",
            "pipeline-ctl replay-dlq --since 1h --error-type InvalidRecord --limit 1",
        ),
    ),
    Example(
        "replay-again",
        (
            "pipeline-ctl replay-dlq --id {replayed_id}",
            "pipeline-ctl replay-dlq --id nope --dry-run",
            "pipeline-ctl replay-dlq --from dlq --dry-run",
        ),
    ),
    Example("status", ("pipeline-ctl status", "pipeline-ctl status --json | head -n 12")),
    Example("release", ("pipeline-ctl release",)),
    Example("schema", ("pipeline-ctl schema | head -n 5",)),
    Example("logs", ("pipeline-ctl logs writer --since 1h --filter incoming/accounts.json",)),
    Example("local-status", ("pipeline-ctl local status",)),
)

NOT_TRANSCRIBED = {
    "local up": "runs in the foreground until Ctrl-C; the transcripts run on a stack of their own",
    "local down": "would stop the stack the transcripts run on",
    "demo": "starts a stack of its own and runs for ~20 s; its --json document is checked by the tests",
}
"""Commands documented in prose only, each with the reason it has no generated transcript."""


def _newest_invalid_id(stack: Any) -> str:
    from ops.errors_log import tail
    from ops.target import resolve_target

    items = tail(resolve_target(local_dir=stack.workdir), error_types=("InvalidRecord",), limit=1)
    return str(items[0]["error_id"])


def _replayed_id(stack: Any) -> str:
    from ops.errors_log import tail
    from ops.target import resolve_target

    items = tail(resolve_target(local_dir=stack.workdir), limit=None)
    return str(next(item for item in items if item.get("status") == "REPLAYED")["error_id"])


PLACEHOLDERS: dict[str, Callable[[Any], str]] = {
    "invalid_id": _newest_invalid_id,
    "replayed_id": _replayed_id,
}


def _command_path(command: str) -> str:
    words = shlex.split(command.split("|")[0])
    if not words or words[0] != "pipeline-ctl":
        return ""
    path: list[str] = []
    for word in words[1:]:
        if word.startswith("-"):
            if path:
                break
            continue
        path.append(word)
        if word not in _groups():
            break
    return " ".join(path)


@cache
def _groups() -> frozenset[str]:
    """The command groups of pipeline-ctl (``errors``, ``local``, ``account``): a word that takes another."""
    from cli.app import app

    names = (
        group.name or (group.typer_instance and group.typer_instance.info.name)
        for group in app.registered_groups
    )
    return frozenset(str(name) for name in names if name)


# --- Running -------------------------------------------------------------------------------------------


@contextmanager
def session() -> Iterator[tuple[Any, Path]]:
    """A local stack in an empty directory holding the input files, registered as `local up` registers
    itself (under a registry of its own, so other stacks on the machine do not count)."""
    from local_stack.stack import LocalStack
    from ops import local_registry

    with tempfile.TemporaryDirectory(prefix="cli-docs-") as directory:
        workdir = Path(directory).resolve()
        for name, text in INPUT_FILES.items():
            (workdir / name).write_text(text, encoding="utf-8")
        saved = os.environ.get("XDG_STATE_HOME")
        os.environ["XDG_STATE_HOME"] = str(workdir / ".state")
        try:
            entry = local_registry.register(workdir)
            try:
                with LocalStack(workdir, fresh=True) as stack:
                    yield stack, workdir
            finally:
                local_registry.unregister(entry)
        finally:
            if saved is None:
                os.environ.pop("XDG_STATE_HOME", None)
            else:
                os.environ["XDG_STATE_HOME"] = saved


def run_command(command: str, workdir: Path) -> str:
    """``$ command``, what it printed (stdout then stderr, as a terminal would interleave them for these
    short outputs) and ``[exit N]``."""
    program = f"{shlex.quote(sys.executable)} -m cli.app"
    script = f'pipeline-ctl() {{ {program} "$@"; }}\nset -o pipefail 2>/dev/null\n{command}'
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("PIPELINE_", "PYTEST_"))},
        "COLUMNS": str(COLUMNS),
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    environment.pop("LINES", None)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    code = done.returncode if "| head" not in command else 0  # head closing the pipe early is not a failure
    return f"$ {command}\n{done.stdout}{done.stderr}[exit {code}]\n"


def transcripts() -> dict[str, str]:
    """Every example's transcript, masked, by name."""
    shown: dict[str, str] = {}
    with session() as (stack, workdir):
        masker = Masker(workdir, stack.outputs)
        for example in EXAMPLES:
            text = ""
            for command in example.commands:
                values = {
                    name: find(stack) for name, find in PLACEHOLDERS.items() if f"{{{name}}}" in command
                }
                shown_run = run_command(command.format(**values) if values else command, workdir)
                text += (
                    shown_run if command.startswith("cat ") else masker.mask(shown_run)
                )  # inputs as they are
                stack.wait_until_idle(timeout=60)
            shown[example.name] = text
    return shown


class Masker:
    """Replaces what changes from run to run with fixed values of the same shape."""

    UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
    ISO = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
    HUMAN = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\b")
    CLOCK = re.compile(r"\b\d\d:\d\d(:\d\d)? UTC\b")
    DAY = re.compile(r"\b20\d\d-\d\d-\d\d\b")
    EPOCH = re.compile(r"\b1[789]\d{8}\b")
    SECONDS = re.compile(r"\b(after|in) \d+(\.\d+)? s\b")
    PERIOD = re.compile(r"\b\d\d-\d\d \d\d:\d\d\b")
    NAME_SUFFIX = re.compile(r"\b(serverless-pipeline-[a-z0-9-]*?)-[0-9a-f]{7}\b")
    """Physical names get a random suffix per deployment, as Pulumi's auto-naming gives them."""
    PID = re.compile(r"^(pid\s+)\d+$", re.MULTILINE)

    def __init__(self, workdir: Path, outputs: dict[str, Any]) -> None:
        self.workdir = workdir
        self.ports = [str(outputs[key]).rsplit(":", 1)[1].rstrip("/") for key in ("endpoint_url", "api_url")]
        self.ids: dict[str, str] = {}
        found = (self.NAME_SUFFIX.finditer(str(value)) for value in outputs.values())
        suffixes = {match.group(0)[-7:] for matches in found for match in matches}
        # A name folded at the table's edge splits over two lines: its suffix is matched across the fold too.
        fold = r"(?:\n *)?"
        self.folded_suffixes = [
            re.compile("-" + fold + "(" + fold.join(re.escape(char) for char in suffix) + r")\b")
            for suffix in suffixes
        ]

    def _id(self, match: re.Match[str]) -> str:
        if match.group(0) not in self.ids:
            self.ids[match.group(0)] = f"00000000-0000-4000-8000-{len(self.ids) + 1:012d}"
        return self.ids[match.group(0)]

    @staticmethod
    def _iso(match: re.Match[str]) -> str:
        fraction = match.group(1)
        return "2026-12-06T12:00:00" + ("." + "0" * (len(fraction) - 1) if fraction else "") + "Z"

    def mask(self, text: str) -> str:
        text = text.replace(str(self.workdir), SHOWN_DIRECTORY)
        for port, shown in zip(self.ports, SHOWN_PORTS, strict=True):
            text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{shown}")
        text = self.NAME_SUFFIX.sub(r"\1-0000000", text)
        for folded in self.folded_suffixes:
            text = folded.sub(lambda m: "-" + re.sub(r"[0-9a-f]", "0", m.group(1)), text)
        text = self.PID.sub(r"\g<1>4242", text)
        text = self.UUID.sub(self._id, text)
        text = self.ISO.sub(self._iso, text)
        text = self.HUMAN.sub("2026-12-06 12:00:00 UTC", text)
        text = self.CLOCK.sub(lambda m: "12:00" + (":00" if m.group(1) else "") + " UTC", text)
        text = self.PERIOD.sub("12-06 12:00", text)
        text = self.DAY.sub("2026-12-06", text)
        text = self.EPOCH.sub("1800000000", text)
        return self.SECONDS.sub(lambda m: f"{m.group(1)} 1.0 s", text)


# --- The reference -------------------------------------------------------------------------------------

BLOCK = re.compile(r"(<!-- transcript (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /transcript -->)", re.DOTALL)


def render(reference: str, shown: dict[str, str]) -> str:
    """``reference`` with every transcript block's body replaced by its transcript."""

    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in shown:
            raise KeyError(
                f"docs/cli.md has a transcript block {name!r} with no example in tools/cli_transcripts"
            )
        return f"{match.group(1)}```console\n{shown[name]}```\n{match.group(4)}"

    return BLOCK.sub(fill, reference)


def blocks(reference: str) -> list[str]:
    return [match.group("name") for match in BLOCK.finditer(reference)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 with a diff if docs/cli.md is not current"
    )
    options = parser.parse_args(argv)
    current = REFERENCE.read_text(encoding="utf-8")
    missing = [example.name for example in EXAMPLES if example.name not in blocks(current)]
    if missing:
        print(f"docs/cli.md lacks a transcript block for: {', '.join(missing)}", file=sys.stderr)
        return 1
    fresh = render(current, transcripts())
    if options.check:
        if fresh == current:
            return 0
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), fresh.splitlines(keepends=True), "docs/cli.md", "generated"
        )
        sys.stdout.writelines(diff)
        print("docs/cli.md is not current: run `make docs`", file=sys.stderr)
        return 1
    REFERENCE.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
