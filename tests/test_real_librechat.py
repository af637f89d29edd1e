"""Opt-in tier: the shipped series on real LibreChat release trees.

Set LIBRECHAT_GIT to a bare git mirror of LibreChat that has the release tags, e.g.
``LIBRECHAT_GIT=/srv/LibreChat.git python -m pytest tests/test_real_librechat.py``.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from librechat_dynmodels import engine
from librechat_dynmodels.catalog import default_catalog_dir, load_catalog
from librechat_dynmodels.checkout import find_checkout

MIRROR = os.environ.get("LIBRECHAT_GIT")
CATALOG = load_catalog(default_catalog_dir())
RELEASES = sorted({tag for series in CATALOG.series.values() for tag in series.librechat})

pytestmark = pytest.mark.skipif(
    not MIRROR, reason="LIBRECHAT_GIT is unset: point it at a LibreChat git mirror with release tags to run this tier"
)


def export(tag: str, into: Path) -> Path:
    archive = subprocess.run(["git", "--git-dir", str(MIRROR), "archive", tag], capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="tar")
    return into


def digests(root: Path) -> dict[str, tuple[str, int]]:
    result = {}
    for path in root.rglob("*"):
        if path.is_file() or path.is_dir():
            data = path.read_bytes() if path.is_file() else b""
            result[str(path.relative_to(root))] = (hashlib.sha256(data).hexdigest(), path.lstat().st_mode)
    return result


@pytest.mark.parametrize("tag", RELEASES)
def test_release_applies_verifies_and_rolls_back_byte_for_byte(tag: str, tmp_path: Path) -> None:
    root = export(tag, tmp_path / tag)
    before = digests(root)
    checkout = find_checkout(root)

    checked = engine.check(checkout, CATALOG)
    assert checked.ok, [h for f in checked.files for h in f.hunks if not h.ok]
    assert tag in CATALOG.get(checked.series.id).librechat, f"{tag} got {checked.series.id}"

    assert engine.apply(checkout, CATALOG).outcome == "applied"
    assert engine.verify(checkout, CATALOG).ok
    assert engine.status(checkout, CATALOG).state == "patched"
    assert engine.apply(checkout, CATALOG).outcome == "already applied"

    assert engine.rollback(checkout, CATALOG).outcome == "rolled back"
    assert digests(root) == before
