"""The release matrix: every release tag of a LibreChat mirror through the whole cycle.

Any commit-ish of the mirror may be named (a tag, a branch such as ``main``, a sha); a branch head moves, so
its row records the commit it resolved to. For each: export the tree to a temp folder, then status, check,
apply, verify, apply again (must change nothing), rollback (must restore every byte). One row per tag; a
tag that no series fits is a finding in its row, not a crash.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from . import engine
from . import mirror as mirrors
from .catalog import Catalog, release_key
from .checkout import find_checkout
from .errors import DynModelsError, InterruptError
from .models import Result

NOT_IN_MIRROR = "not a tag, branch or commit of the mirror"
STEPS = ("status", "check", "apply", "verify", "reapply", "rollback")


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
    in_mirror: bool = True
    kind: str = "tag"  # tag | branch | commit | missing: a branch head moves, so ``sha`` is the commit this row checked
    sha: str | None = None

    @property
    def note(self) -> str | None:
        """``main is a branch, not a tag: ...`` for a branch or a commit; None for a tag."""
        return mirrors.Ref(self.tag, self.sha or "", self.kind).note if self.sha else None

    @property
    def ok(self) -> bool:
        return self.finding is None and all(v == "ok" for v in self.steps.values())

    @property
    def result(self) -> str:
        """The row in a few words: ``every step ok``, ``failed at apply``, ``no fitting series``, ..."""
        if not self.in_mirror:
            return "not in the mirror"
        if self.finding is not None:
            return "no fitting series" if self.series is None else "failed"
        failed = next((k for k, v in self.steps.items() if v.startswith("failed")), None)
        return f"failed at {failed}" if failed else "every step ok"


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
        missing = sum(1 for r in self.rows if not r.in_mirror)
        findings = sum(1 for r in self.rows if r.finding and r.in_mirror)
        line = f"{passed} of {len(self.rows)} releases pass every step; {findings} without a fitting series"
        if missing:
            line += f"; {missing} not in the mirror ({', '.join(r.tag for r in self.rows if not r.in_mirror)})"
        return line


def default_tags(mirror: Path, catalog: Catalog, in_mirror: list[str] | None = None) -> list[str]:
    """Every tag the catalog names, plus every release tag in the mirror newer than all of them."""
    named = {t for s in catalog.series.values() for t in s.librechat}
    in_mirror = mirrors.tags(mirror) if in_mirror is None else in_mirror
    keys = [k for k in (release_key(t) for t in named) if k]
    newest = max(keys) if keys else None
    newer = [t for t in in_mirror if (k := release_key(t)) and newest is not None and k > newest]
    # release tags by version, then what else a series names (a branch such as main), by name
    return sorted(set(named) | set(newer), key=lambda t: (release_key(t) is None, release_key(t) or (0,) * 5, t))


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in root.rglob("*")
    }


def _row_for(tag: str, tree: Path, catalog: Catalog, on_step: Callable[[str], None]) -> MatrixRow:
    steps = dict.fromkeys(STEPS, "skipped")
    checkout = find_checkout(tree)
    on_step("status")
    status = engine.status(checkout, catalog)
    steps["status"] = "ok"
    series = status.series.id if status.series else None
    if series is None:
        return MatrixRow(tag, None, steps, native_support=status.native_support, finding=status.message)
    before = _digests(tree)
    counts = {"exact": 0, "offset": 0, "fuzz": 0}
    try:
        on_step("check")
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
        on_step("apply")
        steps["apply"] = "ok" if engine.apply(checkout, catalog).outcome == "applied" else "failed: nothing applied"
        on_step("verify")
        verify = engine.verify(checkout, catalog)
        steps["verify"] = "ok" if verify.ok else "failed: " + ", ".join(f.path for f in verify.files if f.state != "ok")
        patched = _digests(tree)
        on_step("re-apply")
        again = engine.apply(checkout, catalog)
        steps["reapply"] = (
            "ok" if again.outcome == "already applied" and _digests(tree) == patched else "failed: changed the tree"
        )
        on_step("rollback")
        engine.rollback(checkout, catalog)
        steps["rollback"] = "ok" if _digests(tree) == before else "failed: tree differs from the export"
    except DynModelsError as exc:
        failed = next(k for k, v in steps.items() if v == "skipped")
        steps[failed] = f"failed: {exc}"
    return MatrixRow(tag, series, steps, counts["exact"], counts["offset"], counts["fuzz"], status.native_support)


def _labelled(step: Callable[[str], None], label: str, what: str) -> None:
    step(f"{label}: {what}")


EXPORT_PREFIX = "dynmodels-matrix-"  # TMPDIR/dynmodels-matrix-PID@HOST-XXXX: one run's exports


class _Stopped(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _host() -> str:
    import re
    import socket

    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())


def _sweep_exports() -> None:
    """Remove the exports of matrix runs on this host whose process is gone (killed, as a CI timeout's SIGKILL
    does, with no chance to clean up)."""
    import os
    import re

    from .state import _alive, _hostname

    for leftover in Path(tempfile.gettempdir()).glob(f"{EXPORT_PREFIX}*@*-*"):
        found = re.match(rf"{EXPORT_PREFIX}(\d+)@([A-Za-z0-9._]*)-", leftover.name)
        if found is None or found.group(2) != _host() or leftover.is_symlink() or not leftover.is_dir():
            continue
        try:
            owned = not hasattr(os, "getuid") or leftover.stat().st_uid == os.getuid()  # Windows: the user's TEMP
        except OSError:
            continue
        pid = int(found.group(1))
        if owned and pid != os.getpid() and not _alive({"pid": pid, "host": _hostname()}):
            shutil.rmtree(leftover, ignore_errors=True)


@contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """Ctrl-C (SIGINT, unless it is ignored, as in a background job) and SIGTERM stop the matrix: at once
    between steps, and once the step is whole when they arrive while one writes (apply, rollback hold them)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_matrix(
    mirror: Path,
    catalog: Catalog,
    tags: list[str] | None = None,
    on_row: Callable[[MatrixRow], None] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> MatrixReport:
    """``on_step`` hears ``TAG: STEP`` before each step (progress for the CLI), ``on_row`` each finished row.

    Ctrl-C or SIGTERM stop it with :class:`InterruptError` (exit 130); every export is removed on the way
    out, and one that a SIGKILL left is removed by the next run."""
    import signal

    rows: list[MatrixRow] = []
    chosen: list[str] = []
    try:
        with _stopping_on_signals():
            git_dir = _run(mirror, catalog, tags, on_row, on_step, rows, chosen)
    except _Stopped as stopped:
        name = signal.Signals(stopped.signum).name
        if len(rows) < len(chosen):
            where = f" at {chosen[len(rows)]} ({len(rows)} of {len(chosen)} releases done; its export was removed)"
        else:
            where = f" ({len(rows)} of {len(chosen)} releases done)" if chosen else ""
        raise InterruptError(f"interrupted by {name}{where}") from None
    return MatrixReport(git_dir, tuple(rows))


def _run(
    mirror: Path,
    catalog: Catalog,
    tags: list[str] | None,
    on_row: Callable[[MatrixRow], None] | None,
    on_step: Callable[[str], None] | None,
    rows: list[MatrixRow],
    chosen: list[str],
) -> Path:
    held = len(engine.HELD_SIGNALS)

    def stop_if_held() -> None:
        if len(engine.HELD_SIGNALS) > held:  # arrived while a step wrote (apply, rollback): it is whole now
            raise _Stopped(engine.HELD_SIGNALS[held])

    def step(what: str) -> None:
        stop_if_held()
        if on_step:
            on_step(what)

    _sweep_exports()
    mirror = mirrors.open_mirror(mirror)
    chosen.extend(tags or default_tags(mirror, catalog))
    prefix = f"{EXPORT_PREFIX}{os.getpid()}@{_host()}-"
    for number, tag in enumerate(chosen, start=1):
        ref = mirrors.resolve(mirror, tag)
        if ref is None:
            row = MatrixRow(
                tag, None, dict.fromkeys(STEPS, "skipped"), finding=NOT_IN_MIRROR, in_mirror=False, kind="missing"
            )
            rows.append(row)
            if on_row:
                on_row(row)
            continue
        label = f"{tag} ({number} of {len(chosen)})"
        work = Path(tempfile.mkdtemp(prefix=prefix))
        try:
            step(f"{label}: export")
            mirrors.export(mirror, ref.sha, work)
            row = replace(_row_for(tag, work, catalog, partial(_labelled, step, label)), kind=ref.kind, sha=ref.sha)
            stop_if_held()
        except DynModelsError as exc:
            row = MatrixRow(tag, None, dict.fromkeys(STEPS, "skipped"), finding=str(exc), kind=ref.kind, sha=ref.sha)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        rows.append(row)
        if on_row:
            on_row(row)
    return mirror
