"""The dependency layer: byte-for-byte deterministic, cached by requirements, built offline here.

pip really runs (no mock): it installs a locally built probe wheel with ``--no-index --find-links`` under the
same Lambda platform flags the real build uses.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from infra import archive, layer
from tests.support.infra import TINY_PACKAGE

REQUIREMENT = [f"{TINY_PACKAGE}==1.0"]


def offline(wheels: Path) -> list[str]:
    return ["--no-index", "--find-links", str(wheels)]


def test_two_builds_of_the_same_requirements_are_identical_bytes(tmp_path: Path, local_wheels: Path) -> None:
    first = layer.build_layer(REQUIREMENT, directory=tmp_path / "a", index_args=offline(local_wheels))
    second = layer.build_layer(REQUIREMENT, directory=tmp_path / "b", index_args=offline(local_wheels))

    assert first != second
    assert first.read_bytes() == second.read_bytes()


def test_zip_is_laid_out_for_lambda_and_free_of_volatile_data(tmp_path: Path, local_wheels: Path) -> None:
    built = layer.build_layer(REQUIREMENT, directory=tmp_path, index_args=offline(local_wheels))

    with zipfile.ZipFile(built) as zipped:
        infos = zipped.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert f"python/{TINY_PACKAGE}/__init__.py" in names
    assert all(name.startswith("python/") for name in names)
    assert not [name for name in names if name.endswith(".pyc") or "__pycache__" in name]
    assert not [name for name in names if name.endswith("direct_url.json")]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(info.external_attr >> 16) & 0o777 for info in infos} <= {0o644, 0o755}


def test_a_cached_layer_is_reused_without_running_pip(tmp_path: Path, local_wheels: Path) -> None:
    built = layer.build_layer(REQUIREMENT, directory=tmp_path, index_args=offline(local_wheels))
    before = built.read_bytes()

    # An empty package source: pip would fail if it ran.
    again = layer.build_layer(REQUIREMENT, directory=tmp_path, index_args=offline(tmp_path / "nothing"))

    assert again == built and again.read_bytes() == before


def test_pip_failure_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        layer.LayerBuildError, match=re.escape(f"pip could not build the layer for {TINY_PACKAGE}==1.0")
    ):
        layer.build_layer(REQUIREMENT, directory=tmp_path, index_args=offline(tmp_path / "empty"))
    assert not list(tmp_path.glob("layer/*"))


def test_cache_key_follows_the_requirements_not_their_order() -> None:
    assert layer.requirements_hash(["a==1", "b==2"]) == layer.requirements_hash(["b==2", "a==1"])
    assert layer.requirements_hash(["a==1"]) != layer.requirements_hash(["a==2"])


def test_real_build_targets_lambda_arm64_python313() -> None:
    flags = " ".join(layer.PIP_PLATFORM_ARGS)
    assert "--platform manylinux2014_aarch64" in flags
    assert "--only-binary=:all:" in flags
    assert "--python-version 3.13" in flags
    assert "--implementation cp" in flags
    assert all("==" in requirement for requirement in layer.LAYER_REQUIREMENTS)


def test_the_layer_carries_the_versions_the_tests_and_the_local_stack_run() -> None:
    from importlib.metadata import version

    pinned = dict(requirement.split("==") for requirement in layer.LAYER_REQUIREMENTS)
    assert "msgspec" in pinned
    assert pinned == {name: version(name) for name in pinned}


def test_program_run_leaves_the_seeded_cache_untouched(program_runner, seeded_build_dir: Path) -> None:
    before = {path: path.read_bytes() for path in (seeded_build_dir / "layer").iterdir()}
    program_runner("dev")
    after = {path: path.read_bytes() for path in (seeded_build_dir / "layer").iterdir()}
    assert after == before


def test_code_archive_lists_sources_only(tmp_path: Path) -> None:
    package = tmp_path / "functions"
    (package / "writer" / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "writer" / "handler.py").write_text("def handler(event, context): ...\n")
    (package / "writer" / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\0")
    (package / "stray.pyc").write_bytes(b"\0")
    (package / ".DS_Store").write_bytes(b"\0")

    assert [path.as_posix() for path in archive.source_files(tmp_path)] == [
        "functions/__init__.py",
        "functions/writer/handler.py",
    ]
    assert set(archive.code_archive(tmp_path).assets) == {
        "functions/__init__.py",
        "functions/writer/handler.py",
    }


def test_code_archive_refuses_a_tree_without_the_package(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    with pytest.raises(FileNotFoundError, match=re.escape("functions/__init__.py not found")):
        archive.code_archive(tmp_path)
