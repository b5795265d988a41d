"""Output file helpers: hashing the written files, writing a file whole or not at all."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from ambientgen.output.files import sha256_file, sha256_files


def test_files_hashed_side_by_side_are_hashed_as_one_by_one(tmp_path):
    blobs = {"big.wav": bytes(range(256)) * 20_000, "empty.txt": b"", "small.json": b'{"a": 1}\n'}
    paths = []
    for name, data in blobs.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    digests = sha256_files(paths)
    assert list(digests) == paths  # in the order asked
    for p in paths:
        assert digests[p] == sha256_file(p) == hashlib.sha256(blobs[p.name]).hexdigest()
    assert sha256_files([]) == {}


def test_a_missing_file_is_an_error_not_a_hash(tmp_path):
    with pytest.raises(FileNotFoundError):
        sha256_files([tmp_path / "gone.wav"])


def test_write_atomic_gives_the_permissions_open_would(tmp_path):
    """A report written through a temporary file is readable by whoever may read the folder's other files (the
    temporary file is the owner's alone until then)."""
    from ambientgen.output.files import write_atomic

    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "a.json", b"{}")
        with open(tmp_path / "b.json", "wb") as f:
            f.write(b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == stat.S_IMODE((tmp_path / "b.json").stat().st_mode)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
