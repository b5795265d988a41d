"""Output file helpers: hashing the written files."""

from __future__ import annotations

import hashlib

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
