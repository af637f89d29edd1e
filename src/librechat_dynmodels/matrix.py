"""The release matrix: every release tag of a LibreChat mirror through the whole cycle.

For each tag: export the tree to a temp folder, then status, check, apply, verify, apply again
(must change nothing), rollback (must restore every byte). One row per tag; a tag that no
series fits is a finding in its row, not a crash.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import engine
from .catalog import Catalog
from .checkout import find_checkout
from .errors import DynModelsError, UsageError
from .models import Result

_RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?$")
STEPS = ("status", "check", "apply", "verify", "reapply", "rollback")


def release_key(tag: str) -> tuple[int, int, int, int, int] | None:
    """Sort key of a release tag (an -rcN sorts before its release); None for other tags."""
    match = _RELEASE.match(tag)
    if not match:
        return None
    major, minor, patch, rc = match.groups()
    return (int(major), int(minor), int(patch), 0 if rc else 1, int(rc or 0))


@dataclass(frozen=True)
class MatrixRow(Result):
    tag: str
    series: str | None
    steps: dict[str, str]  # step -> "ok" | "failed: ..." | "skipped"
    hunks_exact: int = 0
    hunks_offset: int = 0
    hunks_fuzz: int = 0
    native_support: bool = False
    finding: str | None = None

    @property
    def ok(self) -> bool:
        return self.finding is None and all(v == "ok" for v in self.steps.values())


@dataclass(frozen=True)
class MatrixReport(Result):
    mirror: Path
    rows: tuple[MatrixRow, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def summary(self) -> str:
        passed = sum(1 for r in self.rows if r.ok)
        findings = sum(1 for r in self.rows if r.finding)
        return f"{passed} of {len(self.rows)} releases pass every step; {findings} without a fitting series"


def _git(mirror: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", "--git-dir", str(mirror), *args], capture_output=True, timeout=300)
    except FileNotFoundError:
        raise UsageError("matrix needs the git program to read the mirror") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {' '.join(args[:2])} failed: {message[-1] if message else done.returncode}", str(mirror))
    return done.stdout


def default_tags(mirror: Path, catalog: Catalog) -> list[str]:
    """Every tag the catalog names, plus every release tag in the mirror newer than all of them."""
    named = {t for s in catalog.series.values() for t in s.librechat}
    in_mirror = _git(mirror, "tag", "--list").decode().split()
    keys = [k for k in (release_key(t) for t in named) if k]
    newest = max(keys) if keys else None
    newer = [t for t in in_mirror if (k := release_key(t)) and newest is not None and k > newest]
    tags = sorted(set(named) | set(newer), key=lambda t: release_key(t) or (0, 0, 0, 0, 0))
    return tags


def _export(mirror: Path, tag: str, into: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(_git(mirror, "archive", tag))) as tar:
        tar.extractall(into, filter="tar")


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in root.rglob("*")
    }


def _row_for(tag: str, tree: Path, catalog: Catalog) -> MatrixRow:
    steps = dict.fromkeys(STEPS, "skipped")
    checkout = find_checkout(tree)
    status = engine.status(checkout, catalog)
    steps["status"] = "ok"
    series = status.series.id if status.series else None
    if series is None:
        return MatrixRow(tag, None, steps, native_support=status.native_support, finding=status.message)
    before = _digests(tree)
    counts = {"exact": 0, "offset": 0, "fuzz": 0}
    try:
        check = engine.check(checkout, catalog)
        for f in check.files:
            for h in f.hunks:
                if h.status in counts:
                    counts[h.status] += 1
        steps["check"] = (
            "ok"
            if check.ok
            else "failed: " + next(f"{h.path} {h.summary()}" for f in check.files for h in f.hunks if not h.ok)
        )
        if not check.ok:
            return MatrixRow(
                tag, series, steps, counts["exact"], counts["offset"], counts["fuzz"], status.native_support
            )
        steps["apply"] = "ok" if engine.apply(checkout, catalog).outcome == "applied" else "failed: nothing applied"
        verify = engine.verify(checkout, catalog)
        steps["verify"] = "ok" if verify.ok else "failed: " + ", ".join(f.path for f in verify.files if f.state != "ok")
        patched = _digests(tree)
        again = engine.apply(checkout, catalog)
        steps["reapply"] = (
            "ok" if again.outcome == "already applied" and _digests(tree) == patched else "failed: changed the tree"
        )
        engine.rollback(checkout, catalog)
        steps["rollback"] = "ok" if _digests(tree) == before else "failed: tree differs from the export"
    except DynModelsError as exc:
        failed = next(k for k, v in steps.items() if v == "skipped")
        steps[failed] = f"failed: {exc}"
    return MatrixRow(tag, series, steps, counts["exact"], counts["offset"], counts["fuzz"], status.native_support)


def run_matrix(
    mirror: Path, catalog: Catalog, tags: list[str] | None = None, on_row: Callable[[MatrixRow], None] | None = None
) -> MatrixReport:
    mirror = mirror.expanduser().resolve()
    if not mirror.exists():
        raise UsageError("no such git mirror", str(mirror))
    chosen = tags or default_tags(mirror, catalog)
    rows = []
    for tag in chosen:
        work = Path(tempfile.mkdtemp(prefix=f"dynmodels-matrix-{tag}-"))
        try:
            _export(mirror, tag, work)
            row = _row_for(tag, work, catalog)
        except DynModelsError as exc:
            row = MatrixRow(tag, None, dict.fromkeys(STEPS, "skipped"), finding=str(exc))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append(row)
        if on_row:
            on_row(row)
    return MatrixReport(mirror, tuple(rows))
