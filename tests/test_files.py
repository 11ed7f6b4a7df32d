"""Write-then-rename: complete files or none, and no leftovers from killed runs."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys

import pytest

from nets.files import atomic_path, file_sha256, replace_folder, write_json
from tests.conftest import ROOT

KILLED_WHILE_WRITING = """
import os, signal, sys
from nets.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writer_leaves_a_part_file_that_the_next_write_removes(tmp_path, caplog):
    final = tmp_path / "result.json"
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_WRITING, str(final)], cwd=ROOT)
    assert killed.returncode == -9
    left = [p.name for p in tmp_path.iterdir()]
    assert len(left) == 1 and left[0].startswith(".result.") and left[0].endswith(".part.json")
    running = tmp_path / f".result.{os.getpid()}-abc.part.json"  # a write of this process still going on
    running.write_text("busy")
    other = tmp_path / ".other.1-abc.part.json"
    other.write_text("another file's")
    with caplog.at_level(logging.INFO, logger="nets.files"):
        write_json(final, {"done": True})
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([final.name, running.name, other.name])
    assert f"removed {tmp_path / left[0]}" in caplog.text


def test_a_failed_write_leaves_the_old_file_and_no_part(tmp_path):
    final = tmp_path / "keep.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(final) as tmp:
        tmp.write_text("new, half")
        raise RuntimeError("the writer failed")
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"] and final.read_text() == "old"


def test_a_folder_is_replaced_only_by_a_complete_one(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "old.md").write_text("old")
    (tmp_path / ".report.part").mkdir()
    (tmp_path / ".report.part" / "new.md").write_text("new")
    replace_folder(tmp_path / ".report.part", tmp_path / "report")
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    assert [p.name for p in (tmp_path / "report").iterdir()] == ["new.md"]


def test_a_files_digest_is_remembered_only_while_the_file_stays_the_same(tmp_path):
    path = tmp_path / "painter.pt"
    path.write_bytes(b"A" * 1000)
    first = file_sha256(path)
    assert first == hashlib.sha256(b"A" * 1000).hexdigest()
    assert file_sha256(tmp_path / ".." / tmp_path.name / "painter.pt") == first  # another path to the same file
    with atomic_path(path) as tmp:  # retrained in place, as every writer here writes: same size, new bytes
        tmp.write_bytes(b"B" * 1000)
    assert file_sha256(path) == hashlib.sha256(b"B" * 1000).hexdigest()
    path.write_bytes(b"C")
    assert file_sha256(path) == hashlib.sha256(b"C").hexdigest()
