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
from librechat_dynmodels.errors import DriftError

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


def checkout_release(root: Path, old: str, new: str) -> None:
    """What `git checkout -f NEW` does to a patched OLD tree: tracked files replaced or removed, the
    series' created files and the tool's state folder (untracked) left behind."""
    tracked = subprocess.run(
        ["git", "--git-dir", str(MIRROR), "ls-tree", "-r", "--name-only", old],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.splitlines()
    for relpath in tracked:
        (root / relpath).unlink(missing_ok=True)
    for folder in sorted({(root / p).parent for p in tracked}, key=lambda f: len(f.parts), reverse=True):
        while folder != root and folder.is_dir() and not any(folder.iterdir()):  # git removes emptied folders
            folder.rmdir()
            folder = folder.parent
    export(new, root)


@pytest.mark.parametrize(("old", "new"), [("v0.8.3", "v0.8.4"), ("v0.8.4", "v0.8.5"), ("v0.7.9", "v0.8.0")])
def test_upgrading_a_patched_checkout_then_rollback_and_apply_equals_a_fresh_install(
    old: str, new: str, tmp_path: Path
) -> None:
    root = export(old, tmp_path / "upgraded")
    engine.apply(find_checkout(root), CATALOG)
    checkout_release(root, old, new)
    upgraded = find_checkout(root)

    assert f"it is {new} now" in (engine.status(upgraded, CATALOG).message or "")
    with pytest.raises(DriftError, match="run .librechat-dynmodels rollback. first"):
        engine.apply(upgraded, CATALOG, engine.Options(force=True))
    engine.rollback(upgraded, CATALOG)
    assert engine.apply(upgraded, CATALOG).outcome == "applied"

    fresh = export(new, tmp_path / "fresh")
    engine.apply(find_checkout(fresh), CATALOG)
    state = ".librechat-dynmodels"
    assert {k: v for k, v in digests(root).items() if not k.startswith(state)} == {
        k: v for k, v in digests(fresh).items() if not k.startswith(state)
    }


def test_every_series_applies_to_every_release_it_claims_and_no_claim_is_shared_wrongly() -> None:
    """A series.yaml `librechat:` entry that the series does not apply to (port on main once claimed v0.8.8-rc1)."""
    from librechat_dynmodels import mirror as mirrors
    from librechat_dynmodels.claims import check_claims, series_misfit

    assert MIRROR
    catalog = load_catalog(default_catalog_dir())
    git_dir = mirrors.open_mirror(Path(MIRROR))
    misfits = []
    for series in catalog.series.values():
        for release in series.librechat:
            ref = mirrors.resolve(git_dir, release)
            assert ref is not None, f"{series.id} claims {release}, which the mirror lacks"
            if (misfit := series_misfit(catalog, series.id, git_dir, ref.sha)) is not None:
                misfits.append(f"{series.id} on {release}: {misfit}")
    assert misfits == []
    assert check_claims(catalog, git_dir) == ()
