"""What survives a restart of ``pipeline-ctl local up`` (a real subprocess on free ports, real signals), and
the cache that lets a start replay the applied program: an edit of the program is another key."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest

from local_stack import deploy_cache, persistence, seal, snapshot
from local_stack.deployment import PROJECT_DIR
from tests.support.e2e import LocalUp

pytestmark = pytest.mark.e2e


def _write_data(up: LocalUp, tag: str) -> None:
    """An item, an object (not ``.json``: no transformer run) and a message on a queue nobody polls."""
    outputs = up.outputs
    up.client("dynamodb").put_item(
        TableName=outputs["account_table"], Item={"account_id": {"S": f"persist-{tag}"}}
    )
    up.client("s3").put_object(Bucket=outputs["data_bucket"], Key=f"keep/{tag}.txt", Body=tag.encode())
    sqs = up.client("sqs")
    url = sqs.create_queue(QueueName="persist-test")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=f"message-{tag}")


def _data(up: LocalUp) -> dict[str, Any]:
    outputs = up.outputs
    items = up.client("dynamodb").scan(TableName=outputs["account_table"])["Items"]
    objects = up.client("s3").list_objects_v2(Bucket=outputs["data_bucket"]).get("Contents", [])
    sqs = up.client("sqs")
    messages: list[str] = []
    if "persist-test" in str(sqs.list_queues().get("QueueUrls", [])):
        url = sqs.get_queue_url(QueueName="persist-test")["QueueUrl"]
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        messages = sorted(m["Body"] for m in answer.get("Messages", []))
    return {
        "items": sorted(item["account_id"]["S"] for item in items),
        "objects": sorted(o["Key"] for o in objects),
        "messages": messages,
    }


def test_a_clean_stop_saves_the_state_and_the_next_up_restores_it(tmp_path: Path) -> None:
    first = LocalUp(tmp_path)
    _write_data(first, "a")
    output = first.stop(signal.SIGTERM)
    assert first.process.returncode == 0, output
    state = tmp_path / persistence.STATE_PATH
    assert "Saved the local state (1 item in 2 tables, 1 object, 1 queued message)" in output
    assert state.stat().st_mode & 0o777 == 0o600, "it holds record values: owner-only"
    assert not first.outputs_path.exists(), "a clean stop removes the outputs document"

    second = LocalUp(tmp_path)
    assert second.outputs["endpoint_url"] != first.outputs["endpoint_url"], "another free port"
    restored = _data(second)
    assert restored == {"items": ["persist-a"], "objects": ["keep/a.txt"], "messages": ["message-a"]}
    # The deployment came back with the data, re-addressed to the new port.
    assert second.outputs["writer_queue_url"].startswith(second.outputs["endpoint_url"])
    _write_data(second, "b")
    output = second.stop(signal.SIGINT)
    assert "Restored the local state saved" in output
    assert "Saved the local state (2 items in 2 tables, 2 objects, 2 queued messages)" in output


def test_after_kill_9_the_next_up_says_what_was_lost_and_starts_clean(tmp_path: Path) -> None:
    first = LocalUp(tmp_path)
    _write_data(first, "a")
    first.stop(signal.SIGKILL)
    assert first.outputs_path.exists(), "nothing can clean up after kill -9"

    second = LocalUp(tmp_path)
    assert _data(second) == {"items": [], "objects": [], "messages": []}
    output = second.stop(signal.SIGTERM)
    lost = [line for line in output.splitlines() if "did not stop cleanly" in line]
    assert len(lost) == 1 and f"pid {first.process.pid}" in lost[0] and "lost" in lost[0], output


def test_fresh_discards_the_saved_state(tmp_path: Path) -> None:
    from local_stack.stack import LocalStack

    with LocalStack(tmp_path, persist=True, write_outputs=False) as first:
        first.client("s3").put_object(Bucket=first.outputs["data_bucket"], Key="keep/a.txt", Body=b"a")
    assert (tmp_path / persistence.STATE_PATH).exists()
    with LocalStack(tmp_path, persist=True, fresh=True, write_outputs=False) as second:
        objects = second.client("s3").list_objects_v2(Bucket=second.outputs["data_bucket"])
        assert objects.get("KeyCount") == 0
        assert second.notices == ["Discarded the saved local state (--fresh); starting clean."]


def test_a_start_interrupted_after_the_restore_keeps_the_saved_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local_stack.stack import LocalStack

    with LocalStack(tmp_path, persist=True, write_outputs=False):
        pass
    state = tmp_path / persistence.STATE_PATH
    assert state.exists()

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt  # Ctrl-C while the stack starts, after the state was read

    monkeypatch.setattr(LocalStack, "_make_outputs", interrupted)
    with pytest.raises(KeyboardInterrupt):
        LocalStack(tmp_path, persist=True, write_outputs=False).start()
    assert state.exists(), "the state is still there for the next start"


def _copy_program(root: Path) -> Path:
    for name in deploy_cache.SOURCES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, root / name)
    return root


def test_any_edit_of_the_program_or_its_config_is_another_cache_key(tmp_path: Path) -> None:
    root = _copy_program(tmp_path)
    config = {"serverless-pipeline:apiAuth": "NONE"}
    key = deploy_cache.program_key("dev", config, root=root)
    assert key == deploy_cache.program_key("dev", config, root=root)
    (root / "infra" / "__pycache__").mkdir(exist_ok=True)
    (root / "infra" / "__pycache__" / "x.pyc").write_bytes(b"bytecode")
    assert deploy_cache.program_key("dev", config, root=root) == key, "bytecode is not the program"
    assert deploy_cache.program_key("prod", config, root=root) != key
    assert deploy_cache.program_key("dev", {**config, "x:y": "1"}, root=root) != key
    for edited in ("__main__.py", "infra/spec.py", "functions/writer/handler.py", "local_stack/deploy.py"):
        path = root / edited
        original = path.read_bytes()
        path.write_bytes(original + b"\n# edited\n")
        assert deploy_cache.program_key("dev", config, root=root) != key, edited
        path.write_bytes(original)
    assert deploy_cache.program_key("dev", config, root=root) == key


def test_a_state_of_another_program_or_format_is_discarded_with_a_reason(tmp_path: Path) -> None:
    from local_stack.deployment import Deployment

    path = tmp_path / "state.pickle"
    persistence.save(
        path, key="old", deployment=Deployment("dev", "eu-west-1", "1", {}), endpoint="http://127.0.0.1:1"
    )
    restored = persistence.restore(path, key="new", endpoint="http://127.0.0.1:2")
    assert restored.deployment is None and "another version of the program" in str(restored.notice)
    assert not path.exists()

    path.write_bytes(b"\x80\x05not a pickle")
    restored = persistence.restore(path, key="new", endpoint="http://127.0.0.1:2")
    assert restored.deployment is None and "not written by your own local stack" in str(restored.notice)


def test_the_emulator_address_inside_the_state_follows_the_new_port() -> None:
    data = snapshot.dumps(
        {"url": "http://127.0.0.1:1111/123/q", "doc": json.dumps({"u": "http://127.0.0.1:1111/x"})},
        endpoint="http://127.0.0.1:1111",
    )
    assert b"1111" not in data
    extra, _ = snapshot.loads(data, endpoint="http://127.0.0.1:2222")
    assert extra == {
        "url": "http://127.0.0.1:2222/123/q",
        "doc": json.dumps({"u": "http://127.0.0.1:2222/x"}),
    }


# --- planted pickles: never unpickled ----------------------------------------------------------------------


class Bomb:
    """Unpickling this creates ``marker``: what a planted state file could run as the developer."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def planted(marker: Path) -> list[bytes]:
    """Files an attacker could leave: a bare pickle (the old header-first format), one behind our magic with a
    made-up seal, and a real seal from another user's key around the same payload."""
    import pickle

    payload = pickle.dumps(Bomb(marker)) + pickle.dumps({"backends": {}, "extra": Bomb(marker)})
    return [payload, seal.MAGIC + b"\0" * seal.MAC_BYTES + payload]


@pytest.mark.parametrize("variant", [0, 1])
def test_a_planted_state_is_refused_and_never_unpickled(tmp_path: Path, variant: int) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / persistence.STATE_PATH
    path.parent.mkdir()
    path.write_bytes(planted(marker)[variant])

    restored = persistence.restore(path, key="any", endpoint="http://127.0.0.1:1")

    assert restored.deployment is None
    assert str(restored.notice).startswith(f"The saved local state {path} was not written by your own local")
    assert not marker.exists()
    assert not path.exists()


def test_a_state_sealed_by_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    marker = tmp_path / "pwned"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "other-user"))
    foreign = seal.seal(pickle.dumps(Bomb(marker)), persistence.PURPOSE)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "me"))
    seal.seal(b"", persistence.PURPOSE)  # this user has a key of their own
    path = tmp_path / "state.pickle"
    path.write_bytes(foreign)

    restored = persistence.restore(path, key="any", endpoint="http://127.0.0.1:1")

    assert "its seal does not verify under your key" in str(restored.notice)
    assert not marker.exists()


def test_a_key_others_can_read_proves_nothing(tmp_path: Path) -> None:
    import pickle

    marker = tmp_path / "pwned"
    sealed = seal.seal(pickle.dumps(Bomb(marker)), persistence.PURPOSE)
    seal.key_path().chmod(0o644)
    path = tmp_path / "state.pickle"
    path.write_bytes(sealed)

    restored = persistence.restore(path, key="any", endpoint="http://127.0.0.1:1")

    assert "your key is not yours alone" in str(restored.notice)
    assert not marker.exists()


def test_a_seal_for_another_purpose_does_not_pass(tmp_path: Path) -> None:
    with pytest.raises(seal.Unsealed, match="does not verify"):
        seal.unseal(seal.seal(b"data", "deploy-cache k"), persistence.PURPOSE)
    assert seal.unseal(seal.seal(b"data", persistence.PURPOSE), persistence.PURPOSE) == b"data"
    assert seal.key_path().stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("variant", [0, 1])
def test_a_planted_deploy_cache_entry_is_never_unpickled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variant: int
) -> None:
    monkeypatch.setenv("PIPELINE_BUILD_DIR", str(tmp_path / "build"))
    marker = tmp_path / "pwned"
    entry = deploy_cache.cache_dir() / "deploy-0123456789abcdef.pickle"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(planted(marker)[variant])

    assert deploy_cache.replay("0123456789abcdef", endpoint="http://127.0.0.1:1") is None
    assert not marker.exists()
    assert not entry.exists()


def test_local_up_refuses_a_planted_state_in_one_line(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    state = tmp_path / persistence.STATE_PATH
    state.parent.mkdir()
    state.write_bytes(planted(marker)[0])

    up = LocalUp(tmp_path)
    output = up.stop(signal.SIGTERM)

    assert f"The saved local state {state} was not written by your own local stack (it carries no seal)" in (
        output.replace("\n", " ")
    )
    assert not marker.exists()
