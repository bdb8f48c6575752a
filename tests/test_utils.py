"""chessformer.utils: atomic writes (modes), provenance, config folders and their size tables."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from chessformer import utils


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_get_the_mode_the_umask_gives(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        utils.write_text_atomic(tmp_path / "a.txt", "x")
        utils.write_json_atomic(tmp_path / "b.json", {"x": 1})
    finally:
        os.umask(old)
    for name in ("a.txt", "b.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), utils.atomic_path(target) as tmp:
        tmp.write_text("new")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_command_line_is_retypeable_with_relative_paths():
    argv = ["/abs/venv/bin/chessformer", "train", "--data", "data/my set", "--out", "runs/x"]
    assert utils.command_line(argv) == "chessformer train --data 'data/my set' --out runs/x"


def test_code_version_names_the_commit_in_a_checkout():
    version = utils.code_version()
    head = subprocess.run(["git", "-C", str(utils.ROOT), "rev-parse", "--short=8", "HEAD"],
                          capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not a git checkout")
    assert version.split("+g")[1].startswith(head.stdout.strip())


def test_config_folders_resolve_in_the_checkout():
    assert utils.in_checkout()
    assert (utils.resource_dir("evals") / "demo.toml").is_file()
    assert (utils.resource_dir("data/experts") / "demo.toml").is_file()
    with pytest.raises(ValueError):
        utils.resource_dir("nowhere")


def test_read_toml_names_the_known_configs_when_one_is_missing():
    with pytest.raises(utils.UserError, match="known in evals/: .*demo"):
        utils.read_toml("no-such-grid", folder="evals", what="evaluation grid")


def test_mp_context_forks_on_linux():
    expected = "fork" if sys.platform.startswith("linux") else "spawn"
    assert utils.mp_context().get_start_method() == expected


def test_size_tables_override_the_top_level_key_by_key():
    raw = {"a": {"x": 1, "y": 2}, "arr": [1, 2], "size": {"small": {"a": {"y": 3}, "arr": [9]}}}
    over = utils.pop_size(raw, "small", ("small", "full"), "cfg.toml")
    assert "size" not in raw
    assert utils.merge_tables(raw, over) == {"a": {"x": 1, "y": 3}, "arr": [9]}
    assert utils.pop_size({"size": {"small": {"a": 1}}}, "full", ("small", "full"), "cfg.toml") == {}
    with pytest.raises(utils.UserError, match=r"cfg.toml: no \[size.tiny\] table"):
        utils.pop_size({}, "tiny", ("tiny", "full"), "cfg.toml")
    with pytest.raises(utils.UserError, match="--size must be one of tiny, full, not 'huge'"):
        utils.pop_size({}, "huge", ("tiny", "full"), "cfg.toml")
