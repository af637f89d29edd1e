"""Plan, check, apply, verify and roll back a series: each a transaction over one checkout.

Data flows one way: the CLI calls these functions, they read the checkout and the catalog,
plan in memory, write through :mod:`fsutil` and the :class:`StateDir`, and return result
objects from :mod:`models`. Nothing here prints.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from . import __version__
from .catalog import Catalog, Series, applicable_components, with_needed_components
from .checkout import (
    GIT_EXCLUDE,
    STATE_DIR_NAME,
    Checkout,
    add_git_exclude,
    detect_native_support,
    git_uncommitted,
    remove_git_exclude,
    sweep_temporaries,
)
from .diffs import FilePatch, render_git_diff
from .errors import (
    CatalogError,
    DriftError,
    DynModelsError,
    FileAccessError,
    Hint,
    IncompleteError,
    InterruptedOperationError,
    NoSeriesError,
    PatchFailedError,
    StateError,
    UsageError,
    command_hint,
)
from .fsutil import atomic_write, atomic_write_many, file_mode, is_read_only, remove_file, sha256_bytes
from .hunks import Hunk, Match, MatchKind, apply_hunks, first_mismatch
from .models import (
    ApplyReport,
    CheckReport,
    FileResult,
    HunkResult,
    ListReport,
    RecoverReport,
    RollbackReport,
    SeriesChoice,
    SeriesInfo,
    StatusReport,
    VerifiedFile,
    VerifyReport,
)
from .state import FileRecord, Manifest, StateDir
from .textdoc import TextDocument

MAX_FUZZ = 2
OnWrite = Callable[[str], None]
HELD_SIGNALS: list[int] = []  # SIGINT and SIGTERM that arrived while a writing command held them


class Options(NamedTuple):
    series_id: str | None = None
    fuzz: int = 0
    components: tuple[str, ...] = ()  # empty: every component of the series
    force: bool = False
    dry_run: bool = False
    verbose: bool = False


DEFAULT_OPTIONS = Options()


# -- reading and evaluating ---------------------------------------------------------------


class _Reader:
    """Reads each checkout file once; ``overrides`` stand in for files (verify's originals)."""

    def __init__(self, checkout: Checkout, overrides: dict[str, bytes | None] | None = None) -> None:
        self.checkout = checkout
        self._cache: dict[str, bytes | None] = dict(overrides or {})

    def read(self, relpath: str) -> bytes | None:
        if relpath not in self._cache:
            target = self.checkout.target(relpath)
            try:
                self._cache[relpath] = target.read_bytes()
            except FileNotFoundError:
                self._cache[relpath] = None
            except IsADirectoryError:
                raise FileAccessError("is a directory, expected a file", relpath) from None
            except PermissionError:
                raise FileAccessError("permission denied while reading", relpath) from None
        return self._cache[relpath]


class _FilePlan:
    """One target file: its bytes before, the document the series makes of it, and each hunk's result."""

    __slots__ = ("path", "component", "action", "original", "doc", "mode", "patch", "hunks")

    def __init__(
        self,
        path: str,
        component: str,
        action: str,  # modify | create
        original: bytes | None,
        doc: TextDocument | None,
        mode: int,
        patch: str = "",  # the patch file (of the last series in the chain) that first touches it
    ) -> None:
        self.path, self.component, self.action = path, component, action
        self.original, self.doc, self.mode, self.patch = original, doc, mode, patch
        self.hunks: list[HunkResult] = []

    @property
    def state(self) -> str:
        kinds = {h.status for h in self.hunks}
        if kinds & {"fails", "ambiguous"}:
            return "fails"
        if kinds == {"already applied"}:
            return "patched"
        if "already applied" in kinds:
            return "partially patched"
        return "pristine"

    @property
    def patched(self) -> bytes:
        assert self.doc is not None
        return self.doc.to_bytes()

    @property
    def changes(self) -> bool:
        return self.original != self.patched

    def result(self, uncommitted: bool | None = None) -> FileResult:
        return FileResult(self.path, self.component, self.action, self.state, tuple(self.hunks), uncommitted)


class _Evaluation(NamedTuple):
    chain: list[Series]
    components: tuple[str, ...]
    files: dict[str, _FilePlan]

    @property
    def all_hunks(self) -> list[HunkResult]:
        return [h for f in self.files.values() for h in f.hunks]

    @property
    def hunks_ok(self) -> int:
        return sum(1 for h in self.all_hunks if h.ok)

    @property
    def exact_hunks(self) -> int:
        return sum(1 for h in self.all_hunks if h.status in ("exact", "already applied"))

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.all_hunks)

    @property
    def state(self) -> str:
        states = {f.state for f in self.files.values()}
        if "fails" in states:
            return "fails"
        if states == {"pristine"}:
            return "pristine"
        if states == {"patched"}:
            return "patched"
        return "partially patched"

    def first_failure(self) -> HunkResult | None:
        return next((h for h in self.all_hunks if not h.ok), None)

    def results(self, uncommitted: list[str] | None = None) -> tuple[FileResult, ...]:
        return tuple(f.result(None if uncommitted is None else f.path in uncommitted) for f in self.files.values())


def _evaluate(chain: list[Series], components: tuple[str, ...], reader: _Reader, fuzz: int) -> _Evaluation:
    files: dict[str, _FilePlan] = {}
    for series in chain:
        for entry in series.patches:
            if entry.component not in components:
                continue
            for file_patch in series.file_patches(entry):
                if file_patch.is_deleted:
                    raise CatalogError(f"file deletions are not supported ({file_patch.path})", entry.file)
                source = file_patch.origin or entry.file
                plan = files.get(file_patch.path)
                if plan is None:
                    original = reader.read(file_patch.path)
                    if file_patch.is_new:
                        mode = file_patch.new_mode or 0o644
                    else:
                        target = reader.checkout.target(file_patch.path)
                        mode = file_mode(target) if original is not None and target.exists() else 0o644
                    plan = _FilePlan(
                        path=file_patch.path,
                        component=entry.component,
                        action="create" if file_patch.is_new else "modify",
                        original=original,
                        doc=TextDocument.from_bytes(original) if original is not None else None,
                        mode=mode,
                        patch=source,
                    )
                    files[file_patch.path] = plan
                _plan_file_patch(plan, file_patch, source, fuzz)
    return _Evaluation(chain, components, files)


def _from_match(patch: str, path: str, hunk: Hunk, match: Match) -> HunkResult:
    return HunkResult(
        patch=patch,
        path=path,
        number=hunk.number,
        header=hunk.header,
        status=match.kind.value,
        offset=match.offset,
        fuzz=match.fuzz,
        first_difference=match.first_difference,
        expected_line=match.expected_line,
        actual_line=match.actual_line,
    )


def _plan_file_patch(plan: _FilePlan, file_patch: FilePatch, patch: str, fuzz: int) -> None:
    hunks = file_patch.hunks
    if file_patch.is_new:
        wanted = file_patch.created_document()
        if plan.doc is None:
            plan.doc = wanted
            match = Match(MatchKind.EXACT)
        elif plan.doc.lines == wanted.lines:
            match = Match(MatchKind.ALREADY_APPLIED)
        else:
            match = first_mismatch(wanted.lines, plan.doc.lines, 0, whole=True)
        plan.hunks.append(_from_match(patch, plan.path, hunks[0], match))
        return
    if plan.doc is None:
        missing = Match(MatchKind.FAILS, expected_line="(the file)")
        plan.hunks.extend(_from_match(patch, plan.path, hunk, missing) for hunk in hunks)
        return
    patched, matches = apply_hunks(plan.doc, hunks, fuzz)
    plan.hunks.extend(_from_match(patch, plan.path, h, m) for h, m in zip(hunks, matches, strict=True))
    if all(m.ok for m in matches):
        plan.doc = patched


# -- choosing the series ------------------------------------------------------------------


def _components(series_chain: list[Series], requested: tuple[str, ...]) -> tuple[str, ...]:
    available = {c for s in series_chain for c in s.components}
    wanted = with_needed_components(list(requested)) if requested else available
    missing = sorted(set(requested) - available)
    if missing:
        raise UsageError(f"series {series_chain[-1].id} has no component {', '.join(missing)}")
    return tuple(c for c in ("backend", "data-provider", "client") if c in wanted and c in available)


def _check_options(opts: Options) -> None:
    if not 0 <= opts.fuzz <= MAX_FUZZ:
        raise UsageError(f"--fuzz must be between 0 and {MAX_FUZZ} (got {opts.fuzz})")


def _choose(
    checkout: Checkout,
    catalog: Catalog,
    opts: Options,
    reader: _Reader,
    manifest: Manifest | None = None,
    closest_ok: bool = False,
) -> tuple[SeriesChoice, _Evaluation]:
    """The series to use and how it meets the checkout.

    With ``closest_ok`` a checkout that no series fits gets the closest one (for reports);
    otherwise that is a :class:`NoSeriesError`.
    """
    _check_options(opts)
    native = detect_native_support(checkout.root)
    if opts.series_id or manifest is not None:
        series_id = opts.series_id or (manifest.series if manifest else "")
        try:
            chain = catalog.chain(series_id)
        except NoSeriesError:
            if manifest is not None and not opts.series_id:
                raise StateError(
                    f"the applied series {series_id!r} is not in this catalog; use --patches", STATE_DIR_NAME
                ) from None
            raise
        if native.present and not chain[-1].native:
            raise NoSeriesError(
                f"series {series_id} is for releases without native per-user fetching, and this checkout "
                f"has it ({native.evidence}); refusing to add a second implementation"
            )
        requested = opts.components or (manifest.components if manifest and not opts.series_id else ())
        evaluation = _evaluate(chain, _components(chain, requested), reader, opts.fuzz)
        reason = "--series" if opts.series_id else "state directory"
        return _choice(chain, evaluation, reason, checkout.version), evaluation

    version = checkout.version
    ranked = _ranked(checkout, catalog, opts, reader, native.present)

    def rank(r: tuple[Series, list[Series], _Evaluation]) -> tuple[bool, int, str]:
        return (version in r[0].librechat, r[2].exact_hunks, r[0].id)

    fitting = [r for r in ranked if r[2].ok]
    if not fitting:
        series, chain, evaluation = max(ranked, key=lambda r: (r[2].hunks_ok / max(len(r[2].all_hunks), 1), r[0].id))
        if closest_ok:
            return _choice(chain, evaluation, "closest", checkout.version), evaluation
        partial = _best_partial(ranked, reader, opts.fuzz, version)
        if partial is not None:
            raise NoSeriesError(
                f"no series fits this checkout: {partial.describe()}; nothing was written",
                hint=_partial_hint(checkout, catalog, opts, reader, partial),
            )
        failed = evaluation.first_failure()
        assert failed is not None
        raise NoSeriesError(
            f"no series fits this checkout (closest: {series.id}, {evaluation.hunks_ok} of "
            f"{len(evaluation.all_hunks)} hunks match; first: {failed.path} {failed.summary()}); nothing was written"
        )
    series, chain, evaluation = max(fitting, key=rank)
    return _choice(chain, evaluation, "content", version), evaluation


def _ranked(
    checkout: Checkout, catalog: Catalog, opts: Options, reader: _Reader, native: bool
) -> list[tuple[Series, list[Series], _Evaluation]]:
    """Each candidate series (of the checkout's kind, native or not) with how it meets the checkout."""
    candidates = [s for s in catalog.series.values() if s.native == native]
    if not candidates:
        kind = "native" if native else "pre-native"
        raise NoSeriesError(f"the catalog has no series for {kind} releases ({checkout.version or 'unknown release'})")
    version = checkout.version
    # A fitting series that names the release outranks every other, so those are tried first and the
    # rest only when none of them fits (the answer is the same; the work is less).
    ranked = []
    for targets in (True, False):
        for series in (s for s in candidates if (version in s.librechat) == targets):
            chain = catalog.chain(series.id)
            evaluation = _evaluate(chain, _components(chain, opts.components), reader, opts.fuzz)
            ranked.append((series, chain, evaluation))
        if targets and any(r[2].ok for r in ranked):
            break
    return ranked


class _Partial(NamedTuple):
    """A series that does not apply whole, and the components of it that do (see applicable_components)."""

    chain: list[Series]
    components: tuple[str, ...]  # what applies alone, with what it needs
    failing: tuple[str, ...]  # the components with a hunk that fails
    first: HunkResult  # the first hunk that fails

    def describe(self) -> str:
        """``the client component of S does not fit (first: PATH hunk ...); its backend and data-provider fit``"""
        return f"{self.failing_part()} (first: {self.first.path} {self.first.summary()}); {self.fits()}"

    def failing_part(self) -> str:
        one = len(self.failing) == 1
        return (
            f"the {_and(self.failing)} component{'' if one else 's'} of {self.chain[-1].id} "
            f"do{'es' if one else ''} not fit"
        )

    def fits(self) -> str:
        return f"its {_and(self.components)} fit{'s' if len(self.components) == 1 else ''}"


def _and(names: tuple[str, ...]) -> str:
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def _partial(chain: list[Series], evaluation: _Evaluation, reader: _Reader, fuzz: int) -> _Partial | None:
    """The components of ``chain`` that apply on their own where the whole evaluation fails; None when none
    that is useful does (planned again with those alone, so a hint never names a set that would fail)."""
    first = evaluation.first_failure()
    if first is None:
        return None
    owner = {}
    for series in chain:
        for entry in series.patches:
            owner[entry.file] = entry.component
            owner.update((shared.origin, entry.component) for shared in entry.installs)
    failing = tuple(
        c for c in evaluation.components if any(owner.get(h.patch) == c for h in evaluation.all_hunks if not h.ok)
    )
    usable = applicable_components(evaluation.components, failing)
    if not usable or not _evaluate(chain, usable, reader, fuzz).ok:
        return None
    return _Partial(chain, usable, failing, first)


def _best_partial(
    ranked: list[tuple[Series, list[Series], _Evaluation]], reader: _Reader, fuzz: int, version: str | None
) -> _Partial | None:
    """The series of which the most components apply (then one naming the release, then the most hunks)."""
    found = []
    for series, chain, evaluation in ranked:
        partial = _partial(chain, evaluation, reader, fuzz)
        if partial is not None:
            ratio = evaluation.hunks_ok / max(len(evaluation.all_hunks), 1)
            found.append(((len(partial.components), version in series.librechat, ratio, series.id), partial))
    return max(found, key=lambda f: f[0])[1] if found else None


def _partial_hint(checkout: Checkout, catalog: Catalog, opts: Options, reader: _Reader, partial: _Partial) -> Hint:
    """``apply --component ...`` for what fits, with ``--series`` when choosing by content would take another."""
    series_id = partial.chain[-1].id
    named = opts.series_id is not None
    if not named:
        chosen, _ = _choose(checkout, catalog, opts._replace(components=partial.components), reader)
        named = chosen.id != series_id
    words = ["apply", *(["--series", series_id] if named else [])]
    for component in partial.components:
        words += ["--component", component]
    words += ["--fuzz", str(opts.fuzz)] * bool(opts.fuzz)
    return Hint(f"to apply {_and(partial.components)} alone", command_hint(*words, checkout.root))


def addable_components(checkout: Checkout, catalog: Catalog) -> tuple[str, ...]:
    """On a checkout with a series applied: the components of it that ``apply --component`` can apply, planned
    against the originals as that apply plans them (every component when the whole series fits)."""
    state = StateDir(checkout.state_dir)
    manifest = state.read_manifest()
    chain = catalog.chain(manifest.series)
    originals = {r.path: state.read_backup(r) if r.action == "modify" else None for r in manifest.files}
    reader = _Reader(checkout, originals)
    evaluation = _evaluate(chain, _components(chain, ()), reader, manifest.fuzz)
    if evaluation.ok:
        return evaluation.components
    partial = _partial(chain, evaluation, reader, manifest.fuzz)
    return partial.components if partial else ()


def partial_fit(checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS) -> Hint | None:
    """On a checkout no series fits whole (and none is applied): the command that applies what does fit, if a
    useful part does; None otherwise. For check's report and doctor."""
    reader = _Reader(checkout)
    if opts.series_id:
        chain = catalog.chain(opts.series_id)
        evaluation = _evaluate(chain, _components(chain, opts.components), reader, opts.fuzz)
        if evaluation.ok:
            return None
        partial = _partial(chain, evaluation, reader, opts.fuzz)
    else:
        ranked = _ranked(checkout, catalog, opts, reader, detect_native_support(checkout.root).present)
        if any(r[2].ok for r in ranked):
            return None
        partial = _best_partial(ranked, reader, opts.fuzz, checkout.version)
    return _partial_hint(checkout, catalog, opts, reader, partial) if partial else None


def _choice(chain: list[Series], evaluation: _Evaluation, reason: str, version: str | None) -> SeriesChoice:
    return SeriesChoice(
        id=chain[-1].id,
        reason=reason,
        targets_version=version in chain[-1].librechat,
        hunks_ok=evaluation.hunks_ok,
        hunks_total=len(evaluation.all_hunks),
    )


# -- state helpers ------------------------------------------------------------------------


@contextmanager
def _deferred_interrupts() -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM that arrive while a writing command runs are held until it is
    whole, so the checkout is never left half patched: the command finishes (its writes take
    moments) and reports what is true, as it would have without the interrupt."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # an ignored signal (a background job's SIGINT) stays ignored; the others are held, and kept in
    # HELD_SIGNALS for a caller that runs several commands (matrix) to stop on once this one is whole
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    previous = {signum: handler for signum, handler in previous.items() if handler != signal.SIG_IGN}
    for signum in previous:
        signal.signal(signum, lambda number, _frame: HELD_SIGNALS.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextmanager
def _locked(state: StateDir) -> Iterator[None]:
    state.acquire_lock()
    try:
        yield
    finally:
        state.release_lock()
        state.remove_if_empty()


def _refuse_if_interrupted(state: StateDir) -> None:
    journal = state.read_journal() if state.exists() else None
    if journal is None:
        return
    holder = state.lock_holder()
    from .state import _alive

    if holder is not None and _alive(holder):
        raise InterruptedOperationError(
            f"another run (pid {holder.get('pid')}) is writing this checkout; try again when it is done",
            str(state.path),
        )
    raise InterruptedOperationError(
        f"an interrupted {journal.get('operation', 'operation')} was found (apply and rollback also recover "
        f"first); run: {command_hint('recover', state.path.parent)}",
        str(state.path),
    )


def _current(checkout: Checkout, relpath: str) -> bytes | None:
    try:
        return checkout.target(relpath).read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileAccessError(f"cannot read: {exc.strerror}", relpath) from None


def _drifted(checkout: Checkout, manifest: Manifest) -> list[str]:
    drifted = []
    for record in manifest.files:
        current = _current(checkout, record.path)
        if current is None or sha256_bytes(current) != record.patched_sha256:
            drifted.append(record.path)
    return drifted


def _keep_edited(target: Path, data: bytes) -> Path:
    """Save an edited file beside itself under a name that is not taken yet."""
    candidate = target.with_name(target.name + ".dynmodels-edited")
    n = 1
    while candidate.exists() and candidate.read_bytes() != data:
        candidate = target.with_name(f"{target.name}.dynmodels-edited.{n}")
        n += 1
    if not candidate.exists():
        atomic_write(candidate, data, file_mode(target) if target.exists() else 0o644)
    return candidate


class _Restored(NamedTuple):
    restored: list[str]
    deleted: list[str]
    kept_edited: list[str]
    left_as_released: list[str]


def upgraded_since_apply(checkout: Checkout, manifest: Manifest) -> str | None:
    """Why the checkout's release is not the one the series was applied to, or None when it is.

    Then a target file that matches neither the patched nor the original bytes is the new
    release's own file, not an edit: rollback leaves it alone and apply refuses to re-apply.
    """
    if manifest.librechat_version and checkout.version and manifest.librechat_version != checkout.version:
        return (
            f"{manifest.series} was applied when this checkout was {manifest.librechat_version}; it is "
            f"{checkout.version} now: roll back first (it removes what that series added and leaves the new "
            f"release's files alone): {command_hint('rollback', checkout.root)}"
        )
    return None


class _ChangedWhileWriting(DriftError):
    """A target another program saved between the moment it was read and its rename (an editor, a config
    agent): what this run wrote before it was put back, and the target was left as that program saved it."""


def _unchanged(checkout: Checkout, relpath: str, expected: bytes | None, operation: str) -> None:
    """Refuse the write of ``relpath`` when the file is no longer the ``expected`` bytes (None: absent)."""
    if _current(checkout, relpath) != expected:
        raise _ChangedWhileWriting(
            f"changed while {operation} was writing it (another program saved it); it is kept as that program saved it",
            relpath,
        )


def _restore(checkout: Checkout, state: StateDir, manifest: Manifest, on_write: OnWrite | None = None) -> _Restored:
    """Put every original back (idempotent: safe to run again after a crash).

    In a checkout upgraded since apply, a file that is neither as patched nor as original is the new
    release's: it stays as it is. A file saved by another program while this runs is left as it was saved,
    what this run restored or deleted before is put back as it was, and it raises :class:`_ChangedWhileWriting`.
    """
    done = _Restored([], [], [], [])
    upgraded = upgraded_since_apply(checkout, manifest) is not None
    originals: list[tuple[Path, bytes, int | None]] = []
    seen: dict[Path, tuple[bytes, int] | None] = {}  # each target to write: its bytes and mode before (or absent)
    undo: list[tuple[Path, bytes, int | None]] = []  # how to put back what this run wrote or deleted
    undo_created: list[Path] = []
    try:
        for record in manifest.files:
            target = checkout.target(record.path)
            current = _current(checkout, record.path)
            digest = sha256_bytes(current) if current is not None else None
            known = {record.patched_sha256, record.original_sha256}
            if upgraded and current is not None and digest not in known:
                done.left_as_released.append(record.path)
                continue
            if current is not None and digest not in known:
                done.kept_edited.append(str(_keep_edited(target, current).relative_to(checkout.root)))
            if record.action == "modify":
                original = state.read_backup(record)
                mode = record.original_mode if record.original_mode is not None else 0o644
                if digest != record.original_sha256 or file_mode(target) != mode:
                    originals.append((target, original, mode))
                    seen[target] = None if current is None else (current, file_mode(target))
                    done.restored.append(record.path)
                    continue
            elif current is not None:
                mode_before = file_mode(target)
                _unchanged(checkout, record.path, current, "rollback")
                remove_file(target)
                undo.append((target, current, mode_before))
                done.deleted.append(record.path)
            if on_write:
                on_write(record.path)
        restored_as = {checkout.target(path): path for path in done.restored}

        def written(target: Path) -> None:
            before = seen[target]
            if before is None:
                undo_created.append(target)
            else:
                undo.append((target, *before))
            if on_write:
                on_write(restored_as[target])

        def check(target: Path) -> None:
            before = seen[target]
            _unchanged(checkout, restored_as[target], before[0] if before else None, "rollback")

        atomic_write_many(originals, written, check)
    except _ChangedWhileWriting:
        atomic_write_many(undo)  # what this run restored or deleted goes back as it was
        for target in undo_created:
            remove_file(target)
        raise
    for relpath in sorted(manifest.created_dirs, key=len, reverse=True):
        try:
            (checkout.root / relpath).rmdir()
        except OSError:
            pass
    return done


def _recover(checkout: Checkout, state: StateDir) -> RecoverReport | None:
    """Finish or undo an interrupted apply or rollback; the checkout ends pristine."""
    journal = state.read_journal() if state.exists() else None
    sweep_temporaries(checkout.root, [GIT_EXCLUDE])
    state.sweep_temporaries()  # what a killed run left (its lock draft, a journal or manifest half written)
    if journal is None:
        return None
    operation = journal.get("operation", "unknown")
    if operation == "apply" and journal.get("phase") == "prepare":
        state.discard()
        return RecoverReport(checkout.root, "discarded an interrupted apply (no file had been written)")
    try:
        if state.has_manifest():
            manifest = state.read_manifest()
            # first, so that a folder the apply created holds nothing of ours when it is removed
            sweep_temporaries(checkout.root, [record.path for record in manifest.files])
            done = _restore(checkout, state, manifest)
        else:
            done = _Restored([], [], [], [])
        state.discard()
    except DynModelsError as exc:
        raise IncompleteError(
            f"recovery of an interrupted {operation} could not finish: {exc}", str(state.path)
        ) from None
    except OSError as exc:
        raise IncompleteError(
            f"recovery of an interrupted {operation} could not finish: {exc.strerror}; state kept, run again",
            str(state.path),
        ) from None
    outcome = "undid interrupted apply" if operation == "apply" else f"finished interrupted {operation}"
    return RecoverReport(checkout.root, outcome, tuple(done.restored), tuple(done.deleted), tuple(done.kept_edited))


# -- commands -----------------------------------------------------------------------------


def list_series(catalog: Catalog) -> ListReport:
    infos = tuple(
        SeriesInfo(
            id=s.id,
            description=s.description,
            librechat=s.librechat,
            native=s.native,
            requires=s.requires,
            components=tuple(s.components),
            patches=tuple(p.file for p in s.patches),
        )
        for s in catalog.series.values()
    )
    return ListReport(catalog.directory, infos, tuple(catalog.releases))


def status(checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS) -> StatusReport:
    native = detect_native_support(checkout.root)
    state = StateDir(checkout.state_dir)
    journal = state.read_journal() if state.exists() else None
    manifest = state.read_manifest() if state.has_manifest() else None
    reader = _Reader(checkout)
    message = None
    hint: Hint | None = None
    choice: SeriesChoice | None = None
    files: tuple[FileResult, ...] = ()
    overall = "unknown"
    paths: list[str] = []
    try:
        choice, evaluation = _choose(checkout, catalog, opts, reader, manifest)
        paths = list(evaluation.files)
        overall = evaluation.state if evaluation.state != "fails" else "unknown"
        files = evaluation.results()
    except NoSeriesError as exc:
        message = exc.message.removesuffix("; nothing was written")  # status never writes
        hint = exc.hint
    if manifest is not None:
        files, overall = _status_from_manifest(checkout, manifest, {f.path: f for f in files})
        paths = [r.path for r in manifest.files]
        outdated = _outdated(checkout, catalog, state, manifest) if overall == "patched" else []
        message = upgraded_since_apply(checkout, manifest) or (
            _outdated_message(checkout, manifest, outdated) if outdated else message
        )
    if journal is not None:
        overall = "unknown"
        message = f"an interrupted {journal.get('operation')} was found; run: {command_hint('recover', checkout.root)}"
    build = _build_state(checkout, files) if overall == "patched" else None
    uncommitted = git_uncommitted(checkout.root, paths) if checkout.is_git_worktree and paths else None
    if uncommitted is not None:
        files = tuple(FileResult(f.path, f.component, f.action, f.state, f.hunks, f.path in uncommitted) for f in files)
    return StatusReport(
        root=checkout.root,
        librechat_version=checkout.version,
        native_support=native.present,
        native_evidence=native.evidence,
        series=choice,
        state=overall,
        files=files,
        applied_at=manifest.applied_at if manifest else None,
        components=manifest.components if manifest else (),
        interrupted_operation=journal.get("operation") if journal else None,
        git_worktree=checkout.is_git_worktree,
        message=message,
        build=build,
        hint=hint if manifest is None and journal is None else None,
    )


def _build_state(checkout: Checkout, files: tuple[FileResult, ...]) -> str | None:
    """ "out of date" when a dist LibreChat loads is older than the patched sources it is built from."""
    from .runtime import OUT_OF_DATE, check_builds

    builds = check_builds(checkout.root, [f.path for f in files if f.state == "patched"], markers=False)
    return OUT_OF_DATE if any(b.state == OUT_OF_DATE for b in builds) else None


def _status_from_manifest(
    checkout: Checkout, manifest: Manifest, evaluated: dict[str, FileResult]
) -> tuple[tuple[FileResult, ...], str]:
    results = []
    for record in manifest.files:
        current = _current(checkout, record.path)
        digest = sha256_bytes(current) if current is not None else None
        if digest == record.patched_sha256:
            state = "patched"
        elif current is None and record.action == "create":
            state = "pristine" if record.original_sha256 is None else "missing"
        elif digest == record.original_sha256:
            state = "pristine"
        else:
            state = "drifted" if current is not None else "missing"
        base = evaluated.get(record.path)
        results.append(
            FileResult(record.path, base.component if base else "", record.action, state, base.hunks if base else ())
        )
    states = {r.state for r in results}
    if states & {"drifted", "missing"}:
        overall = "drifted"
    elif states == {"patched"}:
        overall = "patched"
    elif states == {"pristine"}:
        overall = "pristine"
    else:
        overall = "partially patched"
    return tuple(results), overall


def check(checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS) -> CheckReport:
    """A dry run that writes nothing at all."""
    state = StateDir(checkout.state_dir)
    _refuse_if_interrupted(state)
    manifest = state.read_manifest() if state.has_manifest() else None
    choice, evaluation = _choose(checkout, catalog, opts, _Reader(checkout), manifest, closest_ok=True)
    native = detect_native_support(checkout.root)
    return CheckReport(
        root=checkout.root,
        librechat_version=checkout.version,
        native_support=native.present,
        series=choice,
        ok=evaluation.ok,
        state=evaluation.state,
        fuzz=opts.fuzz,
        files=evaluation.results(),
        hint=partial_fit(checkout, catalog, opts) if not evaluation.ok and manifest is None else None,
    )


def _failure_error(
    checkout: Checkout, opts: Options, evaluation: _Evaluation, fresh: tuple[Catalog, _Reader] | None = None
) -> PatchFailedError:
    """``fresh``: the checkout has no patches applied, so the error may name the components that apply alone."""
    failed = evaluation.first_failure()
    assert failed is not None
    count = sum(1 for h in evaluation.all_hunks if not h.ok)
    where = failed.summary()
    more = f" ({count - 1} more hunks fail)" if count > 1 else ""
    words = ["check", "--verbose"] + (["--series", opts.series_id] if opts.series_id else [])
    words += ["--fuzz", str(opts.fuzz)] * bool(opts.fuzz)
    partial = _partial(evaluation.chain, evaluation, fresh[1], opts.fuzz) if fresh else None
    fits = f"; {partial.failing_part()}, {partial.fits()}" if partial else ""
    return PatchFailedError(
        f"{where}{more}{fits}; nothing was written; to see every hunk: {command_hint(*words, checkout.root)}",
        failed.path,
        hint=_partial_hint(checkout, fresh[0], opts, fresh[1], partial) if fresh and partial else None,
    )


# Room kept beyond what the plan writes: the manifest, the journal, and the undo's own writes.
SPACE_MARGIN_BYTES = 1024 * 1024


def _preflight(checkout: Checkout, plans: list[_FilePlan]) -> None:
    """Refuse before any write what a write would trip over."""
    _refuse_unwritable(checkout, [plan.path for plan in plans])
    _refuse_without_room(checkout, plans)


def _refuse_without_room(checkout: Checkout, plans: list[_FilePlan]) -> None:
    """Apply writes each changed file and a backup of each original, and an undo may rewrite every
    original: refuse before the first write unless the disk has room for all of it."""
    import shutil

    changed = [plan for plan in plans if plan.changes]
    needed = SPACE_MARGIN_BYTES + sum(len(plan.patched) + 2 * len(plan.original or b"") for plan in changed)
    try:
        free = shutil.disk_usage(checkout.root).free
    except OSError:
        return
    if changed and free < needed:
        raise FileAccessError(
            f"not enough free space: applying needs about {needed // 1024} KiB (with room to undo), "
            f"{free // 1024} KiB are free; nothing was changed",
            str(checkout.root),
        )


def _refuse_unwritable(checkout: Checkout, relpaths: list[str]) -> None:
    """The same checks before apply and before rollback: no read-only file or folder on the way."""
    for relpath in relpaths:
        target = checkout.target(relpath)
        if target.exists():
            if is_read_only(target):
                raise FileAccessError("file is read-only; nothing was changed", relpath)
            parent = target.parent
        else:
            parent = target.parent
            while not parent.exists():
                parent = parent.parent
            if not parent.is_dir():
                raise FileAccessError(f"{parent.name} is not a directory; nothing was changed", relpath)
        if is_read_only(parent):
            raise FileAccessError(f"folder {parent} is read-only; nothing was changed", relpath)
    root = checkout.root
    if is_read_only(root) and not checkout.state_dir.exists():
        raise FileAccessError("checkout root is read-only; cannot create the state directory", str(root))


def _diff(plans: list[_FilePlan]) -> str:
    return "".join(render_git_diff(p.path, p.original, p.patched, p.mode) for p in plans)


def apply(
    checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS, on_write: OnWrite | None = None
) -> ApplyReport:
    state = StateDir(checkout.state_dir)
    report = _apply(checkout, catalog, state, opts, on_write)
    return report._replace(lock_left=state.lock_left) if state.lock_left else report


def _apply(
    checkout: Checkout, catalog: Catalog, state: StateDir, opts: Options, on_write: OnWrite | None
) -> ApplyReport:
    _check_options(opts)  # before "already applied" answers without matching anything
    if opts.dry_run:
        _refuse_if_interrupted(state)
        manifest = state.read_manifest() if state.has_manifest() else None
        reader = _Reader(checkout)
        choice, evaluation = _choose(checkout, catalog, opts, reader, manifest)
        if not evaluation.ok:
            raise _failure_error(checkout, opts, evaluation, None if manifest else (catalog, reader))
        plans = [p for p in evaluation.files.values() if p.changes]
        outcome = "already applied" if not plans else "would apply"
        return ApplyReport(
            checkout.root,
            checkout.version,
            choice,
            outcome,
            evaluation.components,
            evaluation.results(_uncommitted_targets(checkout, plans)),
            diff=_diff(plans),
        )
    with _deferred_interrupts(), _locked(state):
        _recover(checkout, state)
        rolled_back = False
        requested = opts.components
        if state.has_manifest():
            manifest = state.read_manifest()
            state.verify_backups(manifest)
            upgraded = upgraded_since_apply(checkout, manifest)
            if upgraded:
                raise DriftError(upgraded, str(state.path))
            drifted = _drifted(checkout, manifest)
            same_series = opts.series_id in (None, manifest.series)
            chain = catalog.chain(manifest.series) if same_series else []
            wanted = set(_components(chain, requested)) if requested and chain else set(manifest.components)
            outdated = _outdated(checkout, catalog, state, manifest) if not drifted and same_series else []
            if outdated and not opts.force:
                raise DriftError(_outdated_message(checkout, manifest, outdated), outdated[0])
            if not drifted and not outdated and same_series and wanted <= set(manifest.components):
                add_git_exclude(checkout.root, f"/{STATE_DIR_NAME}/")  # a run killed before it wrote it
                choice, evaluation = _choose(
                    checkout, catalog, Options(fuzz=manifest.fuzz), _Reader(checkout), manifest
                )
                return ApplyReport(
                    checkout.root,
                    checkout.version,
                    choice,
                    "already applied",
                    manifest.components,
                    evaluation.results(),
                    state.path,
                )
            if drifted and not opts.force:
                raise DriftError(
                    f"changed since the patches were applied{_and_more(drifted)}; to see the edits: "
                    f"{command_hint('verify', '--verbose', checkout.root)}; to re-apply, keeping each edited copy "
                    f"as FILE.dynmodels-edited: {command_hint('apply', '--force', checkout.root)}",
                    drifted[0],
                )
            if same_series:
                requested = tuple(sorted(set(requested) | set(manifest.components)))
            # Plan against the originals in memory first: a series that would not fit them must not
            # cost the checkout its patched (or edited) files.
            originals = {r.path: state.read_backup(r) if r.action == "modify" else None for r in manifest.files}
            _, planned = _choose(
                checkout, catalog, Options(opts.series_id, opts.fuzz, requested), _Reader(checkout, originals)
            )
            if not planned.ok:
                raise _failure_error(checkout, opts, planned)
            _rollback_locked(checkout, state, manifest)
            rolled_back = True
        reader = _Reader(checkout)
        choice, evaluation = _choose(checkout, catalog, Options(opts.series_id, opts.fuzz, requested), reader)
        if not evaluation.ok:
            raise _failure_error(checkout, opts, evaluation, None if rolled_back else (catalog, reader))
        if evaluation.state == "patched":
            return ApplyReport(
                checkout.root, checkout.version, choice, "already applied", evaluation.components, evaluation.results()
            )
        if evaluation.state == "partially patched" and not opts.force:
            partial = [p.path for p in evaluation.files.values() if p.state != "pristine"]
            raise DriftError(
                f"partially patched without a manifest{_and_more(partial)}; to apply the missing hunks: "
                f"{command_hint('apply', '--force', checkout.root)}",
                partial[0],
            )
        plans = list(evaluation.files.values())
        _preflight(checkout, plans)
        uncommitted = _uncommitted_targets(checkout, plans)  # before the writes make every target so
        _write_apply(checkout, state, evaluation, choice, opts, on_write)
        add_git_exclude(checkout.root, f"/{STATE_DIR_NAME}/")
        return ApplyReport(
            checkout.root,
            checkout.version,
            choice,
            "applied",
            evaluation.components,
            evaluation.results(uncommitted),
            state.path,
            rolled_back_first=rolled_back,
            next_steps=_next_steps(checkout, evaluation.components),
        )


def _uncommitted_targets(checkout: Checkout, plans: list[_FilePlan]) -> list[str] | None:
    """The files apply changes that have uncommitted git edits (kept under the patches; rollback restores
    them byte for byte); None when the checkout is not a git work tree or git cannot be asked."""
    modified = [p.path for p in plans if p.original is not None and p.changes]
    return git_uncommitted(checkout.root, modified) if checkout.is_git_worktree and modified else None


def _next_steps(checkout: Checkout, components: tuple[str, ...]) -> tuple[str, ...]:
    from .runtime import next_steps

    return next_steps(checkout.root, components)


def _write_apply(
    checkout: Checkout,
    state: StateDir,
    evaluation: _Evaluation,
    choice: SeriesChoice,
    opts: Options,
    on_write: OnWrite | None,
) -> None:
    plans = list(evaluation.files.values())
    created_dirs = _dirs_to_create(checkout, plans)
    records = tuple(
        FileRecord(
            path=p.path,
            action="create" if p.original is None else "modify",
            patched_sha256=sha256_bytes(p.patched),
            patched_mode=p.mode,
            original_sha256=sha256_bytes(p.original) if p.original is not None else None,
            original_mode=p.mode if p.original is not None else None,
            patch=p.patch,
            component=p.component,
        )
        for p in plans
    )
    manifest = Manifest(
        series=choice.id,
        chain=tuple(s.id for s in evaluation.chain),
        components=evaluation.components,
        tool_version=__version__,
        librechat_version=checkout.version,
        applied_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        files=records,
        partial_base=evaluation.state == "partially patched",
        fuzz=opts.fuzz,
        created_dirs=tuple(created_dirs),
    )
    try:
        state.write_journal("apply", "prepare")
        # the state folder exists from here on: keep it out of 'git status' before anything else
        add_git_exclude(checkout.root, f"/{STATE_DIR_NAME}/")
        state.write_backups(
            [(record, plan.original) for plan, record in zip(plans, records, strict=False) if plan.original is not None]
        )
        state.write_manifest(manifest)
        state.write_journal("apply", "write")
    except BaseException as exc:
        state.discard()
        if isinstance(exc, OSError):
            raise FileAccessError(
                f"cannot write the state directory: {exc.strerror}; nothing was changed", str(state.path)
            ) from None
        raise
    written_as = {checkout.target(plan.path): plan for plan in plans}
    renamed: set[str] = set()

    def written(target: Path) -> None:
        renamed.add(written_as[target].path)
        if on_write:
            on_write(written_as[target].path)

    try:
        for plan in plans:
            if not plan.changes and on_write:
                on_write(plan.path)
        atomic_write_many(
            ((checkout.target(plan.path), plan.patched, plan.mode) for plan in plans if plan.changes),
            written,
            lambda target: _unchanged(checkout, written_as[target].path, written_as[target].original, "apply"),
        )
        state.clear_journal()  # the apply is whole from here on
    except BaseException as exc:
        # undo what was renamed; a target not renamed yet is as the plan read it, or as another program saved it
        unwritten = {plan.path for plan in plans if plan.changes} - renamed
        try:
            _restore(checkout, state, manifest._replace(files=tuple(r for r in records if r.path not in unwritten)))
            state.discard()
        except BaseException:
            raise IncompleteError(
                f"apply failed and could not be undone; state kept, run: {command_hint('recover', checkout.root)}",
                str(state.path),
            ) from None
        if isinstance(exc, _ChangedWhileWriting):
            raise DriftError(f"{exc.message}; every other file was restored, nothing changed", exc.path) from None
        if isinstance(exc, OSError):
            raise _write_failure(checkout, exc) from None
        raise


def _write_failure(checkout: Checkout, exc: OSError) -> FileAccessError:
    """A failed write, named by its target (not the temporary file beside it) and by the step that failed."""
    import os
    import re

    renamed = exc.filename2 is not None  # os.replace(temporary, target)
    name = os.fsdecode(exc.filename2 if renamed else exc.filename) if exc.filename else None
    target = None
    if name is not None:
        path = Path(name)
        staged = re.fullmatch(r"\.(.+)\.[A-Za-z0-9_]+\.dynmodels-tmp", path.name)
        path = path.with_name(staged.group(1)) if staged and not renamed else path
        try:
            target = str(path.relative_to(checkout.root))
        except ValueError:
            target = str(path)
    step = "cannot replace the file" if renamed else "write failed"
    return FileAccessError(f"{step} ({exc.strerror}); every file was restored, nothing changed", target)


def _dirs_to_create(checkout: Checkout, plans: list[_FilePlan]) -> list[str]:
    dirs: set[str] = set()
    for plan in plans:
        if plan.original is None:
            parent = checkout.target(plan.path).parent
            while not parent.exists():
                dirs.add(str(parent.relative_to(checkout.root)))
                parent = parent.parent
    return sorted(dirs)


def verify(checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS) -> VerifyReport:
    state = StateDir(checkout.state_dir)
    _refuse_if_interrupted(state)
    if not state.has_manifest():
        raise StateError(
            f"nothing was applied here (no manifest); run: {command_hint('apply', checkout.root)}",
            STATE_DIR_NAME,
        )
    manifest = state.read_manifest()
    expected: dict[str, bytes] = {}
    if opts.verbose:
        expected = _expected_contents(checkout, catalog, state, manifest)
    files = []
    for record in manifest.files:
        current = _current(checkout, record.path)
        if current is None:
            files.append(VerifiedFile(record.path, "missing"))
        elif sha256_bytes(current) != record.patched_sha256:
            diff = None
            if record.path in expected:
                import difflib

                diff = "".join(
                    difflib.unified_diff(
                        expected[record.path].decode("utf-8", "replace").splitlines(keepends=True),
                        current.decode("utf-8", "replace").splitlines(keepends=True),
                        f"applied/{record.path}",
                        f"current/{record.path}",
                    )
                )
            files.append(VerifiedFile(record.path, "drifted", diff))
        else:
            files.append(VerifiedFile(record.path, "ok"))
    return VerifyReport(checkout.root, manifest.series, all(f.state == "ok" for f in files), tuple(files))


def _expected_contents(checkout: Checkout, catalog: Catalog, state: StateDir, manifest: Manifest) -> dict[str, bytes]:
    """What apply wrote, rebuilt by re-applying the series to the backed-up originals."""
    overrides: dict[str, bytes | None] = {}
    for record in manifest.files:
        overrides[record.path] = state.read_backup(record) if record.action == "modify" else None
    try:
        chain = catalog.chain(manifest.series)
        evaluation = _evaluate(chain, manifest.components, _Reader(checkout, overrides), manifest.fuzz)
    except DynModelsError:
        return {}
    return {p.path: p.patched for p in evaluation.files.values() if p.doc is not None}


def _outdated(checkout: Checkout, catalog: Catalog, state: StateDir, manifest: Manifest) -> list[str]:
    """Files the series as the catalog has it now would write otherwise than the applied one did."""
    expected = _expected_contents(checkout, catalog, state, manifest)
    if not expected:
        return []
    applied = {r.path: r.patched_sha256 for r in manifest.files}
    return sorted(
        path
        for path in set(applied) | set(expected)
        if path not in expected or path not in applied or sha256_bytes(expected[path]) != applied[path]
    )


def _outdated_message(checkout: Checkout, manifest: Manifest, outdated: list[str]) -> str:
    shown = ", ".join(outdated[:3]) + (f" and {len(outdated) - 3} more" if len(outdated) > 3 else "")
    return (
        f"applied from an earlier catalog: {manifest.series} now writes {shown} otherwise; to re-apply it "
        f"(rollback, then apply): {command_hint('apply', '--force', checkout.root)}"
    )


def _and_more(paths: list[str]) -> str:
    """What a message names after its first path (the error's own path, shown before it)."""
    if len(paths) > 3:
        return f" (and {len(paths) - 1} more files)"
    return f" (and {', '.join(paths[1:])})" if len(paths) > 1 else ""


def _rollback_locked(
    checkout: Checkout, state: StateDir, manifest: Manifest, on_write: OnWrite | None = None
) -> _Restored:
    try:
        state.write_journal("rollback", "write")
    except OSError as exc:
        raise FileAccessError(
            f"cannot write the state directory: {exc.strerror}; nothing was rolled back", str(state.path)
        ) from None
    try:
        done = _restore(checkout, state, manifest, on_write)
        sweep_temporaries(checkout.root, [record.path for record in manifest.files])
        state.discard()
    except _ChangedWhileWriting as exc:
        state.clear_journal()  # every file is back as it was before the rollback: it stays applied
        raise DriftError(f"{exc.message}; nothing was rolled back", exc.path) from None
    except DynModelsError as exc:
        raise IncompleteError(
            f"rollback could not finish: {exc}; state kept, run rollback again", str(state.path)
        ) from None
    except OSError as exc:
        raise IncompleteError(
            f"rollback could not finish: {exc.strerror}; state kept, run rollback again", exc.filename
        ) from None
    return done


def _checked_rollback(
    checkout: Checkout, state: StateDir, manifest: Manifest, opts: Options, on_write: OnWrite | None
) -> _Restored:
    state.verify_backups(manifest)
    drifted = [] if upgraded_since_apply(checkout, manifest) else _drifted(checkout, manifest)
    if drifted and not opts.force:
        raise DriftError(
            f"changed since the patches were applied{_and_more(drifted)}; to restore the originals, keeping each "
            f"edited copy as FILE.dynmodels-edited: {command_hint('rollback', '--force', checkout.root)}",
            drifted[0],
        )
    _refuse_unwritable(checkout, [record.path for record in manifest.files])
    return _rollback_locked(checkout, state, manifest, on_write)


def rollback(
    checkout: Checkout, catalog: Catalog, opts: Options = DEFAULT_OPTIONS, on_write: OnWrite | None = None
) -> RollbackReport:
    state = StateDir(checkout.state_dir)
    with _deferred_interrupts(), _locked(state):
        recovered = _recover(checkout, state)
        manifest = state.read_manifest() if state.has_manifest() else None
        if manifest is not None:
            done = _checked_rollback(checkout, state, manifest, opts, on_write)
    if not checkout.state_dir.exists():
        remove_git_exclude(checkout.root, f"/{STATE_DIR_NAME}/")  # the checkout is as released again
    if manifest is None:
        outcome = "nothing to roll back" if recovered is None else recovered.outcome
        restored = recovered.restored if recovered else ()
        deleted = recovered.deleted if recovered else ()
        return RollbackReport(checkout.root, outcome, None, restored, deleted, lock_left=state.lock_left)
    return RollbackReport(
        checkout.root,
        "rolled back",
        manifest.series,
        tuple(done.restored),
        tuple(done.deleted),
        tuple(done.kept_edited),
        tuple(done.left_as_released),
        state.lock_left,
    )


def recover(checkout: Checkout) -> RecoverReport:
    state = StateDir(checkout.state_dir)
    if not state.exists():
        return RecoverReport(checkout.root, "nothing to recover")
    with _deferred_interrupts(), _locked(state):
        report = _recover(checkout, state)
    return (report or RecoverReport(checkout.root, "nothing to recover"))._replace(lock_left=state.lock_left)
