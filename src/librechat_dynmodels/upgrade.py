"""``upgrade-catalog``: a series for every new release (and branch head) of a LibreChat mirror, without a human.

For each ref the catalog lacks (default: the release tags newer than the catalog's newest release, plus
``main``): export it; when a series already fits it by content, that series claims it; otherwise the closest
series (by content, of the same kind: native or pre-native) is ported onto it, and the new series is kept only
when the whole life cycle that ``matrix`` runs (status, check, apply, verify, re-apply, rollback) passes on a
fresh export. Everything is done in a copy of the catalog (a hidden folder beside the destination); at the end
the copy becomes ``--catalog-out``, or (without it) each ready series is renamed into the catalog, one folder
at a time, so no series is ever half written. What needs a human (conflicts with their file, line and source
hunk; a failed step) is in the report, and its series is left out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import engine
from . import mirror as mirrors
from .catalog import Catalog, load_catalog, release_key, series_yaml_text, writable_catalog_dir
from .checkout import find_checkout
from .claims import ClaimProblem, check_claims
from .errors import DynModelsError, UsageError
from .fsutil import atomic_write, rename
from .matrix import EXPORT_PREFIX, MatrixRow, _host, _labelled, _row_for, _sweep_exports
from .models import Result

OnStep = Callable[[str], None]
READY = ("fits", "ported", "claimed already")


@dataclass(frozen=True)
class NeedsHuman(Result):
    """One thing the command could not do alone: a conflict (its file, the marker's line, the source hunk), a
    hunk that does not apply (the line of its first difference), or a step that failed."""

    path: str | None
    line: int | None
    what: str


@dataclass(frozen=True)
class UpgradeRow(Result):
    ref: str
    kind: str  # tag | branch | commit | missing
    sha: str | None
    outcome: str  # claimed already | fits | ported | needs a human | not in the mirror
    series: str | None  # the series that covers the ref now (or the one port made and that was left out)
    source: str | None = None  # the series it was ported from
    matrix: MatrixRow | None = None
    needs: tuple[NeedsHuman, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome in READY

    @property
    def note(self) -> str | None:
        return mirrors.Ref(self.ref, self.sha, self.kind).note if self.sha else None


@dataclass(frozen=True)
class UpgradeReport(Result):
    mirror: Path
    catalog: Path  # where the result is: --catalog-out, or the catalog itself
    rows: tuple[UpgradeRow, ...]
    written: tuple[str, ...]  # series folders written or changed (a claim added)
    claims: tuple[ClaimProblem, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and not self.claims

    @property
    def summary(self) -> str:
        ready = sum(1 for r in self.rows if r.ok)
        line = f"{ready} of {len(self.rows)} refs have a ready series; {len(self.rows) - ready} need a human"
        if self.claims:
            line += f"; {len(self.claims)} claim(s) that do not apply"
        return line

    def markdown(self) -> str:
        """The report as a pull request's body."""
        out = [
            "# librechat-dynmodels upgrade-catalog",
            "",
            f"{self.summary} ({self.seconds:.0f} s). Catalog: `{self.catalog}`.",
            "",
            "| ref | kind | commit | outcome | series | ported from | life cycle |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            cycle = r.matrix.result if r.matrix else "-"
            sha = r.sha[:12] if r.sha else "-"
            out.append(
                f"| {r.ref} | {r.kind} | {sha} | {r.outcome} | {r.series or '-'} | {r.source or '-'} | {cycle} |"
            )
        notes = [n for r in self.rows if (n := r.note)]
        if notes:
            out += ["", *(f"- {n}" for n in notes)]
        needs = [(r.ref, n) for r in self.rows for n in r.needs]
        if needs or self.claims:
            out += ["", "## Needs a human", ""]
            for ref, item in needs:
                where = f"`{item.path}`" + (f" line {item.line}" if item.line else "") + ": " if item.path else ""
                out.append(f"- {ref}: {where}{item.what}")
            for c in self.claims:
                out.append(f"- {c.release}: {c.series} claims it and does not apply: {c.problem}")
        return "\n".join(out) + "\n"


def default_refs(mirror: Path, catalog: Catalog) -> list[str]:
    """The release tags newer than every release the catalog names (a candidate whose release is out is left
    out), then ``main`` when the mirror has it and no series claims it."""
    named = {t for s in catalog.series.values() for t in s.librechat}
    keys = [k for k in (release_key(t) for t in named) if k]
    newest = max(keys) if keys else None
    tags = mirrors.tags(mirror)
    releases = {t for t in tags if release_key(t)}
    newer = [
        t
        for t in releases
        if (newest is None or (release_key(t) or (0,) * 5) > newest)
        and not ("-rc" in t and t.split("-rc")[0] in releases)
        and t not in named
    ]
    refs = sorted(newer, key=lambda t: release_key(t) or (0,) * 5)
    if "main" in mirrors.branches(mirror) and "main" not in named:
        refs.append("main")
    return refs


def upgrade_catalog(
    mirror: Path,
    catalog: Catalog,
    refs: list[str] | None = None,
    catalog_out: Path | None = None,
    on_step: OnStep | None = None,
) -> UpgradeReport:
    started = time.monotonic()
    step = on_step or (lambda _: None)
    git_dir = mirrors.open_mirror(mirror)
    if catalog_out is not None:
        destination = catalog_out.expanduser().absolute()
        if destination.exists() or destination.is_symlink():
            raise UsageError("--catalog-out must name a folder that does not exist yet", str(catalog_out))
        if not destination.parent.is_dir():
            raise UsageError("the folder --catalog-out is to be written in does not exist", str(destination.parent))
        staging_parent = destination.parent
    else:
        destination = writable_catalog_dir(catalog, "upgrade-catalog", catalog.directory)
        staging_parent = destination
    chosen = list(refs) if refs else default_refs(git_dir, catalog)
    _sweep_exports()
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.upgrade-{os.getpid()}-", dir=staging_parent))
    try:
        shutil.copytree(
            catalog.directory,
            staging,
            symlinks=True,
            dirs_exist_ok=True,
            ignore=lambda folder, names: [n for n in names if n.startswith(".") and Path(folder) == catalog.directory],
        )
        rows: list[UpgradeRow] = []
        touched: list[str] = []
        for number, name in enumerate(chosen, start=1):
            row_started = time.monotonic()
            label = f"{name} ({number} of {len(chosen)})"
            row = _upgrade_one(git_dir, staging, name, touched, partial(_labelled, step, label))
            rows.append(_timed(row, time.monotonic() - row_started))
        step("checking the claims")
        claims = check_claims(load_catalog(staging), git_dir)
        step("writing the catalog")
        with engine._deferred_interrupts():
            if catalog_out is not None:
                rename(staging, destination)
            else:
                _move_series(staging, destination, touched, catalog)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return UpgradeReport(
        git_dir, destination, tuple(rows), tuple(dict.fromkeys(touched)), claims, time.monotonic() - started
    )


def _timed(row: UpgradeRow, seconds: float) -> UpgradeRow:
    from dataclasses import replace

    return replace(row, seconds=round(seconds, 1))


def _move_series(staging: Path, catalog_dir: Path, touched: list[str], catalog: Catalog) -> None:
    """Each ready series folder renamed into the catalog (a new one), or its series.yaml written (a claim added)."""
    for series_id in dict.fromkeys(touched):
        target = catalog_dir / series_id
        if series_id in catalog.series:
            atomic_write(target / "series.yaml", (staging / series_id / "series.yaml").read_bytes())
        else:
            rename(staging / series_id, target)


def _export(git_dir: Path, sha: str) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"{EXPORT_PREFIX}{os.getpid()}@{_host()}-"))
    mirrors.export(git_dir, sha, work)
    return work


def _upgrade_one(git_dir: Path, staging: Path, name: str, touched: list[str], step: OnStep) -> UpgradeRow:
    from .maintain import default_series_id, port

    ref = mirrors.resolve(git_dir, name)
    if ref is None:
        return UpgradeRow(
            name, "missing", None, "not in the mirror", None, needs=(NeedsHuman(None, None, mirrors_missing(name)),)
        )
    catalog = load_catalog(staging)
    claimed = next((s.id for s in catalog.series.values() if name in s.librechat), None)
    work = _export(git_dir, ref.sha)
    try:
        checkout = find_checkout(work)
        if claimed is not None:
            step("life cycle")
            row = _row_for(name, work, catalog, step)
            return _finished(ref, "claimed already", row.series or claimed, None, row)
        step("choosing the closest series")
        try:
            choice, evaluation = engine._choose(
                checkout, catalog, engine.DEFAULT_OPTIONS, engine._Reader(checkout), closest_ok=True
            )
        except DynModelsError as exc:
            return UpgradeRow(name, ref.kind, ref.sha, "needs a human", None, needs=(NeedsHuman(None, None, str(exc)),))
        if evaluation.ok:
            _claim(staging, choice.id, name)
            touched.append(choice.id)
            step("life cycle")
            row = _row_for(name, work, load_catalog(staging), step)
            return _finished(ref, "fits", choice.id, None, row)
        source = catalog.series[choice.id]
        new_id = default_series_id(name, source.native)
        step(f"porting {source.id} as {new_id}")
        try:
            ported = port(checkout, catalog, source.id, git_dir, new_id, out_dir=staging, release=name)
        except DynModelsError as exc:
            failed = evaluation.first_failure()
            refused = [NeedsHuman(None, None, f"port from {source.id}: {exc}")]
            if failed is not None:
                refused.append(NeedsHuman(failed.path, failed.first_difference, f"{source.id} {failed.summary()}"))
            return UpgradeRow(name, ref.kind, ref.sha, "needs a human", None, source.id, needs=tuple(refused))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if ported.needs_human:
        shutil.rmtree(staging / new_id, ignore_errors=True)
        needs = tuple(
            NeedsHuman(f.path, f.conflict_lines[0] if f.conflict_lines else None, _conflict_text(f))
            for f in ported.files
            if f.result in ("conflict", "missing")
        )
        return UpgradeRow(name, ref.kind, ref.sha, "needs a human", new_id, source.id, needs=needs)
    fresh = _export(git_dir, ref.sha)
    try:
        step("life cycle")
        row = _row_for(name, fresh, load_catalog(staging), step)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    if row.ok and row.series == new_id:
        touched.append(new_id)
        return _finished(ref, "ported", new_id, source.id, row)
    shutil.rmtree(staging / new_id, ignore_errors=True)
    return _finished(ref, "needs a human", new_id, source.id, row)


def mirrors_missing(name: str) -> str:
    return f"{name} is not a tag, branch or commit of the mirror (git fetch it first)"


def _conflict_text(f: object) -> str:
    from .maintain import PortedFile

    assert isinstance(f, PortedFile)
    if f.result == "missing":
        return f"missing in this release: port its {f.hunks} hunk(s) by hand ({f.patch})"
    hunks = f", source hunk {', '.join(f.failed_hunks)}" if f.failed_hunks else ""
    lines = f" (markers at line {', '.join(map(str, f.conflict_lines))})" if len(f.conflict_lines) > 1 else ""
    return f"{f.conflicts} conflict(s){lines}{hunks} in {f.patch}"


def _finished(ref: mirrors.Ref, outcome: str, series: str | None, source: str | None, row: MatrixRow) -> UpgradeRow:
    if row.ok and (outcome != "ported" or row.series == series):
        return UpgradeRow(ref.name, ref.kind, ref.sha, outcome, series, source, row)
    failed = [NeedsHuman(None, None, f"{k} {v}") for k, v in row.steps.items() if v.startswith("failed")]
    if row.finding:
        failed.append(NeedsHuman(None, None, row.finding))
    if row.ok:  # passed, with another series than the new one
        failed.append(NeedsHuman(None, None, f"the life cycle chose {row.series}, not {series}"))
    return UpgradeRow(ref.name, ref.kind, ref.sha, "needs a human", series, source, row, tuple(failed))


def _claim(staging: Path, series_id: str, name: str) -> None:
    """``name`` added to the series' ``librechat:`` list in the copy of the catalog."""
    from .catalog import parse_series_yaml

    path = staging / series_id / "series.yaml"
    data = parse_series_yaml(path.read_text(encoding="utf-8"), str(path))
    data["librechat"] = [*data.get("librechat", []), name]
    atomic_write(path, series_yaml_text(data).encode("utf-8"))
