"""docs/cli.md: every command has a transcript generated from a real run, and the transcripts are current."""

from __future__ import annotations

import pytest

from tests.cli.test_app import command_paths
from tools import cli_transcripts
from tools.cli_transcripts import EXAMPLES, NOT_TRANSCRIBED, REFERENCE, blocks


def test_every_command_has_a_generated_transcript_or_a_stated_reason() -> None:
    commands = {" ".join(path) for path in command_paths()}
    shown = set().union(*(example.command_paths() for example in EXAMPLES))

    assert sorted(commands - shown - set(NOT_TRANSCRIBED)) == [], "add an Example in tools/cli_transcripts.py"
    assert set(NOT_TRANSCRIBED) <= commands  # no reason kept for a command that is gone


def test_every_example_has_one_block_in_the_reference() -> None:
    names = blocks(REFERENCE.read_text(encoding="utf-8"))

    assert sorted(names) == sorted(example.name for example in EXAMPLES)
    assert len(names) == len(set(names))


@pytest.mark.e2e
def test_transcripts_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    """Regenerates every transcript on a real local stack (about a minute) and compares."""
    code = cli_transcripts.main(["--check"])

    assert code == 0, capsys.readouterr().out + "\nrun `make docs` to regenerate docs/cli.md"
