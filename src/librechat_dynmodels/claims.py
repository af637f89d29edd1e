"""Which releases a series may claim: a release (its ``librechat:`` list) that two series name must be one
each of them applies to, read from a LibreChat mirror (no export: ``git show`` of the files the series
touches). ``port`` refuses a claim that does not apply; :func:`check_claims` is the catalog check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import mirror as mirrors
from .catalog import Catalog
from .diffs import FilePatch
from .hunks import apply_hunks
from .models import Result
from .textdoc import TextDocument


def first_misfit(mirror: Path, rev: str, file_patches: Iterable[FilePatch]) -> str | None:
    """Where ``file_patches`` (in order, as a series chain applies them) first fail on ``rev`` of the mirror:
    ``PATH hunk N (@@ ... @@) does not apply``; None when every hunk applies."""
    docs: dict[str, TextDocument | None] = {}
    for file_patch in file_patches:
        path = file_patch.path
        if path not in docs:
            data = mirrors.show(mirror, rev, path)
            docs[path] = TextDocument.from_bytes(data) if data is not None else None
        doc = docs[path]
        if file_patch.is_new:
            wanted = file_patch.created_document()
            if doc is not None and doc.to_bytes() != wanted.to_bytes():
                return f"{path} is created by the series, and {rev} has a different one"
            docs[path] = wanted
            continue
        if doc is None:
            return f"{path} is not in {rev}"
        patched, matches = apply_hunks(doc, file_patch.hunks)
        failed = next((h for h, m in zip(file_patch.hunks, matches, strict=True) if not m.applies), None)
        if failed is not None:
            header = f"@@ -{failed.old_start},{failed.old_len} +{failed.new_start},{failed.new_len} @@"
            return f"{path} hunk {failed.number} ({header}) does not apply"
        docs[path] = patched
    return None


def series_misfit(catalog: Catalog, series_id: str, mirror: Path, rev: str) -> str | None:
    """Where the series (with what it requires, every component) first fails on ``rev``; None when it applies."""
    chain = catalog.chain(series_id)
    return first_misfit(mirror, rev, (fp for s in chain for entry in s.patches for fp in s.file_patches(entry)))


@dataclass(frozen=True)
class ClaimProblem(Result):
    release: str
    series: str
    problem: str  # what does not apply, or that the mirror lacks the release


def check_claims(catalog: Catalog, mirror: Path) -> tuple[ClaimProblem, ...]:
    """Every release that two or more series claim, and each claimant that does not apply to it."""
    git_dir = mirrors.open_mirror(mirror)
    claimants: dict[str, list[str]] = {}
    for series in catalog.series.values():
        for release in series.librechat:
            claimants.setdefault(release, []).append(series.id)
    problems = []
    for release, ids in sorted(claimants.items()):
        if len(ids) < 2:
            continue
        ref = mirrors.resolve(git_dir, release)
        for series_id in sorted(ids):
            if ref is None:
                problems.append(
                    ClaimProblem(release, series_id, f"{release} is not in the mirror, so the claim is unchecked")
                )
            elif (misfit := series_misfit(catalog, series_id, git_dir, ref.sha)) is not None:
                problems.append(ClaimProblem(release, series_id, misfit))
    return tuple(problems)
