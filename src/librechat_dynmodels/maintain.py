"""Tools for the people who maintain patch series: `refresh` and `port`.

refresh: after editing a patched checkout by hand, regenerate the applied series' patch files
from the backed-up originals and the current files (3 lines of context, stable order, no
timestamps), keeping series.yaml and the manifest in step.

port: start a series for a new release from the nearest existing one: every hunk that applies
as is is kept; a file whose hunks do not is merged three ways (the series' own release from the
mirror as base) and, where that conflicts, left with standard conflict markers in the checkout
for a human, who then runs `refresh`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from . import mirror as mirrors
from .catalog import (
    FEATURE_DIR,
    Catalog,
    PatchEntry,
    Series,
    check_series_id,
    series_yaml_text,
    writable_catalog_dir,
)
from .checkout import Checkout, git_changed_files, git_head_bytes, safe_target, sweep_temporaries
from .diffs import as_written, render_git_diff
from .errors import CatalogError, DriftError, DynModelsError, InterruptedOperationError, StateError, UsageError
from .fsutil import atomic_write, atomic_write_many, file_mode, make_dirs, rename, sha256_bytes
from .hunks import apply_hunks
from .models import Result, SeriesChoice
from .state import FileRecord, Manifest, StateDir
from .textdoc import TextDocument

OnStep = Callable[[str], None]  # progress: one short description per step, for the CLI to show
CONFLICT_MARKER = "<<<<<<< "
_COMPONENT_BY_PREFIX = (
    ("packages/data-provider/", "data-provider"),
    ("client/", "client"),
    ("api/", "backend"),
    ("packages/", "backend"),
)


@dataclass(frozen=True)
class RefreshedPatch(Result):
    file: str
    component: str
    files: tuple[str, ...]
    hunks: int


@dataclass(frozen=True)
class RefreshedShared(Result):
    source: str  # feature/<path> in the catalog
    path: str  # where the checkout has it
    installed_by: tuple[str, ...]  # every series the edit changes


@dataclass(frozen=True)
class RefreshReport(Result):
    series: str
    series_dir: Path
    patches: tuple[RefreshedPatch, ...]
    added_files: tuple[str, ...] = ()
    series_yaml_changed: bool = False
    dropped_files: tuple[str, ...] = ()  # edited back to their original: no longer part of the series
    shared: tuple[RefreshedShared, ...] = ()  # feature files written back to their single source
    lock_left: str | None = None  # the lock could not be removed at the end (why, and what to do)


@dataclass(frozen=True)
class PortedFile(Result):
    path: str
    patch: str
    result: str  # clean | merged | conflict | missing
    hunks: int
    hunks_clean: int
    conflicts: int = 0
    failed_hunks: tuple[str, ...] = ()  # the source's hunks that did not apply as they are: "N (@@ -a,b +c,d @@)"
    conflict_lines: tuple[int, ...] = ()  # 1-based lines of the conflict markers (<<<<<<<) left in the checkout


@dataclass(frozen=True)
class PortReport(Result):
    source: str
    base_release: str
    new_series: str
    series_dir: Path
    librechat_version: str | None
    hunks_total: int
    hunks_clean: int
    files: tuple[PortedFile, ...]
    needs_human: tuple[str, ...]
    lock_left: str | None = None  # the lock could not be removed at the end (why, and what to do)
    base_kind: str = "tag"  # tag | branch | commit: what the source's release is in the mirror
    base_sha: str | None = None  # the commit the merges were made against (a branch head moves)
    release: str | None = None  # what the new series claims (its librechat: list)
    notes: tuple[str, ...] = ()  # a branch, not a tag; a claim the mirror could not check


def component_of(relpath: str) -> str:
    for prefix, component in _COMPONENT_BY_PREFIX:
        if relpath.startswith(prefix):
            return component
    raise UsageError(f"cannot tell which component {relpath} belongs to (api/, packages/, client/)")


def _hunk_count(diff_text: str) -> int:
    return sum(1 for line in diff_text.splitlines() if line.startswith("@@ "))


def _append_entries(series_dir: Path, entries: list[tuple[str, str, str]]) -> None:
    import yaml

    data = yaml.safe_load((series_dir / "series.yaml").read_text(encoding="utf-8"))
    data["patches"].extend({"file": f, "component": c, "description": d} for f, c, d in entries)
    atomic_write(series_dir / "series.yaml", series_yaml_text(data).encode("utf-8"))


def _is_shared(record: FileRecord) -> bool:
    return record.patch.startswith(FEATURE_DIR + "/")


def _shared_edit(
    checkout: Checkout, catalog: Catalog, record: FileRecord
) -> tuple[RefreshedShared, Path, bytes] | None:
    """An edited feature file, to go back to its one source (where, and its bytes); None when it is as installed."""
    current = _read(checkout, record.path)
    if current is None:
        raise UsageError("file was deleted; refresh cannot express a deletion", record.path)
    if sha256_bytes(current) == record.patched_sha256:
        return None
    if CONFLICT_MARKER.encode() in current:
        raise UsageError("file still has conflict markers; resolve them first", record.path)
    try:  # the manifest names the source; it is written only as a file inside the catalog
        source = safe_target(catalog.directory, record.patch, "catalog")
    except DynModelsError as exc:
        raise StateError(f"the manifest names {record.patch!r} as its source: {exc.message}", record.path) from None
    users = tuple(
        sorted(s.id for s in catalog.series.values() if any(f.origin == record.patch for f in s.shared_files()))
    )
    return RefreshedShared(record.patch, record.path, users), source, current


def _included_original(checkout: Checkout, relpath: str, mirror: Path | None) -> bytes | None:
    """What an ``--include``d file was before the hand edit: the release's own copy from the mirror, else
    the git work tree's HEAD; None when the release has no such file (the edit created it)."""
    if mirror is not None:
        if not checkout.version:
            raise UsageError(
                "the checkout's release is unknown (no version in package.json), so --git cannot say "
                "which tag holds the original",
                relpath,
            )
        git_dir = mirrors.open_mirror(mirror)
        if not mirrors.has_tag(git_dir, checkout.version):
            raise UsageError(
                f"the checkout's release {checkout.version} is not a tag in the mirror; update it "
                "(git fetch --tags) or give --git a mirror that has it",
                str(mirror),
            )
        return mirrors.show(git_dir, checkout.version, relpath)
    if not checkout.is_git_worktree:
        release = checkout.version or "its release"
        raise UsageError(
            "--include on a checkout without git: refresh needs the file's original to diff against; pass --git "
            f"with a LibreChat mirror that has the tag {release} (the file is read from there)",
            relpath,
        )
    return git_head_bytes(checkout.root, relpath)


def refresh(
    checkout: Checkout, catalog: Catalog, include: tuple[str, ...] = (), mirror: Path | None = None
) -> RefreshReport:
    """Plans and writes under the checkout's lock: no apply, rollback or port changes the checkout or its
    state between what refresh reads and what it writes."""
    from . import engine

    writable_catalog_dir(catalog, "refresh", checkout.root)
    state = StateDir(checkout.state_dir)
    if not state.has_manifest():
        raise StateError("refresh needs a checkout patched by this tool (no state directory)", str(state.path))
    with engine._locked(state):
        report = _refresh_locked(checkout, catalog, state, include, mirror)
    return replace(report, lock_left=state.lock_left) if state.lock_left else report


def _refresh_locked(
    checkout: Checkout, catalog: Catalog, state: StateDir, include: tuple[str, ...], mirror: Path | None
) -> RefreshReport:
    from . import engine

    journal = state.read_journal()
    if journal is not None:
        raise InterruptedOperationError(
            f"an interrupted {journal.get('operation', 'operation')} was found; run 'librechat-dynmodels recover' "
            "first",
            str(state.path),
        )
    state.sweep_temporaries()  # what a killed refresh left: a manifest or backup half written
    if not state.has_manifest():  # rolled back before this run took the lock
        raise StateError("refresh needs a checkout patched by this tool (no state directory)", str(state.path))
    manifest = state.read_manifest()
    state.verify_backups(manifest)
    series = catalog.get(manifest.series)
    _sweep_catalog_temporaries(catalog, series, manifest.files)
    known = {r.path for r in manifest.files}

    changed = git_changed_files(checkout.root)
    if changed is not None:
        outside = [
            p
            for p in changed
            if p not in known
            and not p.endswith(".dynmodels-edited")
            and p not in include
            and not p.startswith(checkout.state_dir.name + "/")
        ]
        if outside:
            raise DriftError(
                f"edits outside the series: {', '.join(outside)}; name them with --include to add them, or undo them",
                outside[0],
            )
    records = list(manifest.files)
    added = []
    new_backups: list[tuple[FileRecord, bytes]] = []
    for relpath in include:
        if relpath in known:
            continue
        target = checkout.target(relpath)
        if not target.exists():
            raise UsageError("--include names a file that does not exist", relpath)
        original = _included_original(checkout, relpath, mirror)
        component = component_of(relpath)
        patch = next((p.file for p in series.patches if p.component == component), "")
        record = FileRecord(
            path=relpath,
            action="modify" if original is not None else "create",
            patched_sha256="",
            patched_mode=file_mode(target),
            original_sha256=sha256_bytes(original) if original is not None else None,
            original_mode=file_mode(target) if original is not None else None,
            patch=patch,
            component=component,
        )
        if original is not None:
            new_backups.append((record, original))
        records.append(record)
        added.append(relpath)

    new_entries: list[tuple[str, str, str]] = []
    by_patch: dict[str, list[FileRecord]] = {}
    shared: list[RefreshedShared] = []
    shared_writes: list[tuple[Path, bytes]] = []
    final_records = []
    for record in records:
        if _is_shared(record):
            edit = _shared_edit(checkout, catalog, record)
            if edit is not None:
                shared.append(edit[0])
                shared_writes.append((edit[1], edit[2]))
                record = record._replace(patched_sha256=sha256_bytes(edit[2]))
            final_records.append(record)
            continue
        patch = record.patch
        if not patch:
            number = len(series.patches) + len(new_entries) + 1
            patch = f"{number:04d}-{record.component}-extra.patch"
            new_entries.append(
                (patch, record.component, f"Files added by refresh to the {record.component} component.")
            )
            record = record._replace(patch=patch)
        by_patch.setdefault(patch, []).append(record)

    included = {record.path: original for record, original in new_backups}  # backed up at the end
    texts: dict[str, str] = {}
    refreshed = []
    dropped = []
    for patch, members in by_patch.items():
        order = _section_order(series, patch)
        members.sort(key=lambda r: (order.get(r.path, len(order)), r.path))
        existing = _existing_sections(series.directory / patch)
        sections = []
        for record in members:
            current = _read(checkout, record.path)
            if current is None:
                raise UsageError("file was deleted; refresh cannot express a deletion", record.path)
            if CONFLICT_MARKER.encode() in current:
                raise UsageError("file still has conflict markers; resolve them first", record.path)
            original = None
            if record.action == "modify":
                original = included[record.path] if record.path in included else state.read_backup(record)
            if current == original:
                dropped.append(record)
                continue
            digest = sha256_bytes(current)
            if digest == record.patched_sha256 and record.path in existing:
                sections.append(existing[record.path])  # untouched since apply: keep its text as written
            else:
                sections.append(render_git_diff(record.path, original, current, record.patched_mode))
            final_records.append(record._replace(patched_sha256=digest))
        text = "".join(sections)
        if not text:
            raise UsageError(f"refresh would leave {patch} empty; remove it from series.yaml by hand", patch)
        texts[patch] = text
        component = members[0].component or next((p.component for p in series.patches if p.file == patch), "")
        refreshed.append(RefreshedPatch(patch, component, tuple(r.path for r in members), _hunk_count(text)))

    refreshed_manifest = manifest._replace(files=tuple(final_records))
    with engine._deferred_interrupts():  # every write at the end, in an order a rerun finishes from
        state.write_backups(new_backups)
        for source, data in shared_writes:
            atomic_write(source, data)
        for patch, text in texts.items():
            atomic_write(series.directory / patch, text.encode("utf-8"))
        if new_entries:
            _append_entries(series.directory, new_entries)
        state.write_manifest(refreshed_manifest)
        _remove_unlisted_backups(state, refreshed_manifest)  # the dropped files', and a killed run's
    return RefreshReport(
        series.id,
        series.directory,
        tuple(refreshed),
        tuple(added),
        bool(new_entries),
        tuple(record.path for record in dropped),
        tuple(shared),
    )


def _sweep_catalog_temporaries(catalog: Catalog, series: Series, records: tuple[FileRecord, ...]) -> None:
    """The temporary files (``.NAME.XXXX.dynmodels-tmp``) a killed refresh left in the series folder and
    beside the feature files it writes back, before ``git add patches/`` takes them in."""
    for leftover in series.directory.glob(".*.dynmodels-tmp"):
        if not leftover.is_symlink() and leftover.is_file():
            leftover.unlink(missing_ok=True)
    sweep_temporaries(catalog.directory, [r.patch for r in records if _is_shared(r)])


def _remove_unlisted_backups(state: StateDir, manifest: Manifest) -> None:
    listed = {r.path for r in manifest.files if r.action == "modify"}
    backups = state.path / "backups"
    for backup in [p for p in backups.rglob("*") if p.is_file() and not p.is_symlink()]:
        relpath = backup.relative_to(backups).as_posix()
        if relpath not in listed:
            backup.unlink(missing_ok=True)


def _section_order(series: Series, patch: str) -> dict[str, int]:
    entry = next((p for p in series.patches if p.file == patch), None)
    if entry is None or not (series.directory / patch).exists():
        return {}
    try:
        return {fp.path: i for i, fp in enumerate(series.file_patches(entry))}
    except CatalogError:
        return {}


def _existing_sections(patch_path: Path) -> dict[str, str]:
    """Each file's section of a patch file, verbatim (index lines, hunk headers' function context)."""
    try:
        text = as_written(patch_path.read_bytes().decode("utf-8"))  # as parse_patch reads it
    except (OSError, UnicodeDecodeError):
        return {}
    sections: dict[str, str] = {}
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("diff --git a/")]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        header = lines[start].rstrip("\n")[len("diff --git a/") :]
        path, separator, _ = header.partition(" b/")
        if separator:
            sections[path] = "".join(lines[start:end])
    return sections


def _read(checkout: Checkout, relpath: str) -> bytes | None:
    try:
        return checkout.target(relpath).read_bytes()
    except FileNotFoundError:
        return None


def _merge3(current: bytes, base: bytes, ours: bytes) -> tuple[bytes, int]:
    """Three-way merge with git's merge-file: (result, number of conflicts). A conflict of lines is merged
    again word by word (a release that rewrote the line the series renames a call on): when that is clean, its
    result replaces the conflict; else the conflict stays marked."""
    merged, conflicts = _merge_file(current, base, ours, diff3=True)
    if not conflicts:
        return merged, 0
    lines = merged.splitlines(keepends=True)
    out: list[bytes] = []
    left = 0
    i = 0
    while i < len(lines):
        if not lines[i].startswith(b"<<<<<<< checkout"):
            out.append(lines[i])
            i += 1
            continue
        parts: dict[bytes, list[bytes]] = {b"checkout": [], b"base": [], b"series": []}
        block = [lines[i]]
        part = b"checkout"
        i += 1
        while i < len(lines) and not lines[i].startswith(b">>>>>>> series"):
            block.append(lines[i])
            if lines[i].startswith(b"||||||| base release"):
                part = b"base"
            elif lines[i].rstrip(b"\r\n") == b"=======":
                part = b"series"
            else:
                parts[part].append(lines[i])
            i += 1
        block.append(lines[i] if i < len(lines) else b"")
        i += 1
        words, word_conflicts = _merge_words(*(b"".join(parts[k]) for k in (b"checkout", b"base", b"series")))
        if word_conflicts:
            left += 1
            out.append(block[0])
            out.extend(parts[b"checkout"])
            out.append(b"=======\n")
            out.extend(parts[b"series"])
            out.append(block[-1])
        else:
            out.append(words)
    return b"".join(out), left


def _merge_words(current: bytes, base: bytes, ours: bytes) -> tuple[bytes, int]:
    """The three-way merge of one conflict, word by word (a word, a run of spaces or one sign each):
    (result, 0), or (b"", 1) when both sides change the same words or insert at the same place."""
    import re
    from difflib import SequenceMatcher

    token = re.compile(rb"\w+|\s+|.", re.S)
    words = [token.findall(data) for data in (current, base, ours)]

    def changes(side: list[bytes]) -> list[tuple[int, int, list[bytes]]]:
        matcher = SequenceMatcher(None, words[1], side, autojunk=False)
        return [(i1, i2, side[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]

    theirs, mine = changes(words[0]), changes(words[2])
    for a1, a2, a_new in theirs:
        for b1, b2, b_new in mine:
            if (a1, a2, a_new) == (b1, b2, b_new):
                continue
            overlap = a1 < b2 and b1 < a2
            same_point = a1 == a2 == b1 == b2
            inside = (a1 == a2 and b1 < a1 < b2) or (b1 == b2 and a1 < b1 < a2)
            if overlap or same_point or inside:
                return b"", 1
    merged = sorted(set((i1, i2, tuple(new)) for i1, i2, new in theirs + mine), key=lambda c: (c[0], c[1]))
    out: list[bytes] = []
    at = 0
    for i1, i2, new in merged:
        out.extend(words[1][at:i1])
        out.extend(new)
        at = max(at, i2)
    out.extend(words[1][at:])
    return b"".join(out), 0


def _merge_file(current: bytes, base: bytes, ours: bytes, diff3: bool = False) -> tuple[bytes, int]:
    with tempfile.TemporaryDirectory(prefix="dynmodels-port-") as tmp:
        paths = []
        for name, data in (("current", current), ("base", base), ("series", ours)):
            path = Path(tmp) / name
            path.write_bytes(data)
            paths.append(str(path))
        done = subprocess.run(
            ["git", "merge-file", "-p", *(["--diff3"] if diff3 else []), "-L", "checkout", "-L", "base release"]
            + ["-L", "series", *paths],
            capture_output=True,
        )
    if done.returncode < 0 or done.returncode > 127:
        raise UsageError(f"git merge-file failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout, done.returncode


def port(
    checkout: Checkout,
    catalog: Catalog,
    source_id: str,
    mirror: Path,
    new_id: str | None = None,
    out_dir: Path | None = None,
    on_step: OnStep | None = None,
    release: str | None = None,
) -> PortReport:
    """Plans and writes under the checkout's lock; the new series is written into a temporary folder that is
    renamed into the catalog once the checkout is patched, so an interrupted or refused port leaves no series
    (and the next port finishes or undoes what it left).

    ``release`` is what the new series claims (default: the checkout's version; ``main`` for a port onto that
    branch, whose package.json still names the last tag). A source made for releases without LibreChat's own
    per-user fetch (``native: false``) is refused on a checkout that has it, and the other way round: the
    engine would never choose such a series there. A claim that the mirror has and the new series does not
    apply to is refused before anything is written."""
    from . import engine

    source = catalog.get(source_id)
    # first of all: the id names the folder port writes, so it is checked as strictly as a path
    named = release is not None  # a branch name's "/" may become "-"; a package.json version is taken as it is
    release = release or checkout.version or "unknown"
    if new_id is not None:
        check_series_id(new_id, "--id", UsageError)
    else:
        new_id = default_series_id(release, source.native, slashes=named)
        try:
            check_series_id(new_id, None, UsageError)
        except UsageError as exc:
            raise UsageError(
                f"{exc.message}; it comes from the checkout's package.json version: name the series with --id",
                str(checkout.root / "package.json"),
            ) from None
    _refuse_other_kind(checkout, catalog, source)
    target_dir = out_dir or writable_catalog_dir(catalog, "port", checkout.root)
    state = StateDir(checkout.state_dir)
    with engine._locked(state):
        report = _port_locked(checkout, catalog, state, source, mirror, target_dir, new_id, on_step, release)
    return replace(report, lock_left=state.lock_left) if state.lock_left else report


def default_series_id(release: str, native: bool, slashes: bool = True) -> str:
    """``dynmodels-native-v0.8.8`` for a native source, ``dynmodels-v0.7.9`` for a pre-native one; with
    ``slashes``, a branch's ``/`` becomes ``-`` (``feat/v8.7``: ``dynmodels-native-feat-v8.7``); a package.json
    version is taken as it is (one with a ``/`` is refused as an id)."""
    name = release.replace("/", "-") if slashes else release
    return f"dynmodels-{'native-' if native else ''}{name}"


def _refuse_other_kind(checkout: Checkout, catalog: Catalog, source: Series) -> None:
    from .catalog import release_key
    from .checkout import detect_native_support

    native = detect_native_support(checkout.root)
    if native.present == source.native:
        return
    same = [s for s in catalog.series.values() if s.native == native.present]
    newest = max(
        same, key=lambda s: max((release_key(t) or (0,) * 5 for t in s.librechat), default=(0,) * 5), default=None
    )
    hint = (
        f"; port from a {'native' if native.present else 'pre-native'} series instead (--from {newest.id})"
        if newest
        else ""
    )
    if native.present:
        raise UsageError(
            f"{source.id} is a pre-native series (native: false), and this checkout has LibreChat's own per-user "
            f"model fetching ({native.evidence}): a port would add a second implementation that no command ever "
            f"chooses there{hint}",
            str(checkout.root),
        )
    raise UsageError(
        f"{source.id} is a native series (native: true), and this checkout has no per-user model fetching of its "
        f"own: the series extends code that is not there{hint}",
        str(checkout.root),
    )


def _port_locked(
    checkout: Checkout,
    catalog: Catalog,
    state: StateDir,
    source: Series,
    mirror: Path,
    target_dir: Path,
    new_id: str,
    on_step: OnStep | None,
    release: str,
) -> PortReport:
    from . import engine

    step = on_step or (lambda _: None)
    version = checkout.version or "unknown"
    engine._recover(checkout, state)  # an apply of a killed port is undone
    drafts_left = _sweep_series_drafts(target_dir)
    step("reading the mirror")
    mirror = mirrors.open_mirror(mirror)
    base = next((r for t in reversed(source.librechat) if (r := mirrors.resolve(mirror, t)) is not None), None)
    if base is None:
        raise UsageError(
            f"none of {source.id}'s releases ({', '.join(source.librechat)}) is in the mirror; "
            "fetch them (git fetch --tags) or give --git a mirror that has them",
            str(mirror),
        )
    base_tag = base.name
    notes = [base.note] if base.note else []
    series_dir = target_dir / new_id
    if state.has_manifest():
        _undo_unfinished_port(checkout, state, new_id, new_id in drafts_left and not series_dir.exists())
    if series_dir.exists():
        raise UsageError("the new series folder exists already", str(series_dir))

    plans = []
    ported = []
    for entry in source.patches:
        for file_patch in source.file_patches(entry):
            step(f"porting {file_patch.path}")
            count = len(file_patch.hunks)
            current = _read(checkout, file_patch.path)
            failed: tuple[str, ...] = ()
            markers: tuple[int, ...] = ()
            if file_patch.is_new:
                wanted = file_patch.created_document().to_bytes()
                if current is None or current == wanted:
                    result, clean, merged, conflicts = wanted, count, "clean", 0
                else:
                    ported.append(PortedFile(file_patch.path, entry.file, "conflict", count, 0, 1))
                    continue
            elif current is None:
                ported.append(PortedFile(file_patch.path, entry.file, "missing", count, 0))
                continue
            else:
                patched, matches = apply_hunks(TextDocument.from_bytes(current), file_patch.hunks)
                clean = sum(1 for m in matches if m.ok)
                if clean == count:
                    result, merged, conflicts = patched.to_bytes(), "clean", 0
                else:
                    original = mirrors.show(mirror, base.sha, file_patch.path)
                    if original is None:
                        raise CatalogError(f"{file_patch.path} is not in {base_tag}", entry.file)
                    ours, own = apply_hunks(TextDocument.from_bytes(original), file_patch.hunks)
                    if not all(m.ok for m in own):
                        raise CatalogError(f"{source.id} does not apply to its own release {base_tag}", entry.file)
                    result, conflicts = _merge3(current, original, ours.to_bytes())
                    merged = "conflict" if conflicts else "merged"
                    failed = tuple(
                        f"{h.number} (@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@)"
                        for h, m in zip(file_patch.hunks, matches, strict=True)
                        if not m.ok
                    )
                    markers = tuple(
                        n
                        for n, line in enumerate(result.split(b"\n"), start=1)
                        if line.startswith(CONFLICT_MARKER.encode())
                    )
            ported.append(PortedFile(file_patch.path, entry.file, merged, count, clean, conflicts, failed, markers))
            plan = engine._FilePlan(
                path=file_patch.path,
                component=entry.component,
                action="create" if current is None else "modify",
                original=current,
                doc=TextDocument.from_bytes(result),
                mode=file_mode(checkout.target(file_patch.path))
                if current is not None
                else (file_patch.new_mode or 0o644),
                patch=file_patch.origin or entry.file,
            )
            plans.append(plan)

    # The new series: the clean and merged glue now, conflicted files once a human ran refresh; the
    # feature files it installs are the source series' (the one source is never copied).
    series_files: list[tuple[str, bytes]] = []
    for entry in source.patches:
        members = [p for p in plans if p.patch == entry.file and not _conflicted(ported, p.path)]
        text = "".join(render_git_diff(p.path, p.original, p.patched, p.mode) for p in members)
        if text:
            series_files.append((entry.file, text.encode("utf-8")))
    if release != version:
        notes.append(f"the new series claims {release}; the checkout's package.json says {version}")
    notes.extend(_check_claim(catalog, mirror, release, new_id, series_files))
    data: dict[str, object] = {
        "id": new_id,
        "description": f"Ported from {source.id} to LibreChat {release} by librechat-dynmodels port.",
        "librechat": [release],
        "native": source.native,
    }
    if source.requires:
        data["requires"] = list(source.requires)
    data["patches"] = [_entry_data(entry) for entry in source.patches]
    series_files.append(("series.yaml", series_yaml_text(data).encode("utf-8")))

    evaluation = engine._Evaluation([], tuple(sorted({p.component for p in plans})), {p.path: p for p in plans})
    choice = SeriesChoice(new_id, "port", True, sum(f.hunks_clean for f in ported), sum(f.hunks for f in ported))
    step("writing the ported files")
    engine._preflight(checkout, plans)
    draft = target_dir / f".{new_id}.port-{os.getpid()}.dynmodels-tmp"
    with engine._deferred_interrupts():
        try:
            make_dirs(draft)
            atomic_write_many((draft / name, text, 0o644) for name, text in series_files)
            engine._write_apply(checkout, state, evaluation, choice, engine.Options(), None)
        except BaseException:
            shutil.rmtree(draft, ignore_errors=True)
            raise
        _put_series_in_place(checkout, state, draft, series_dir)
    needs = tuple(
        f"{f.path}: {f.conflicts} conflict(s){_at_lines(f)}, resolve the markers then run 'librechat-dynmodels refresh'"
        if f.result == "conflict"
        else f"{f.path}: missing in this release, port its hunks by hand"
        for f in ported
        if f.result in ("conflict", "missing")
    )
    return PortReport(
        source=source.id,
        base_release=base_tag,
        new_series=new_id,
        series_dir=series_dir,
        librechat_version=checkout.version,
        hunks_total=sum(f.hunks for f in ported),
        hunks_clean=sum(f.hunks_clean for f in ported),
        files=tuple(ported),
        needs_human=needs,
        base_kind=base.kind,
        base_sha=base.sha,
        release=release,
        notes=tuple(notes),
    )


def _at_lines(ported: PortedFile) -> str:
    hunks = f"; source hunk {', '.join(ported.failed_hunks)}" if ported.failed_hunks else ""
    lines = f" at line {', '.join(map(str, ported.conflict_lines))}" if ported.conflict_lines else ""
    return lines + hunks


def _check_claim(
    catalog: Catalog, mirror: Path, release: str, new_id: str, series_files: list[tuple[str, bytes]]
) -> list[str]:
    """Refuses a claim of ``release`` that the mirror has and the new series' glue does not apply to (the files
    port could not merge are not in it yet); the notes to report otherwise."""
    from .claims import first_misfit
    from .diffs import parse_patch

    ref = mirrors.resolve(mirror, release)
    others = sorted(s.id for s in catalog.series.values() if release in s.librechat and s.id != new_id)
    if ref is None:
        return [f"{release} is not in the mirror, so port could not check that the new series applies to it"]
    patches = [fp for name, text in series_files for fp in parse_patch(text.decode("utf-8"), name)]
    misfit = first_misfit(mirror, ref.sha, patches)
    if misfit is None:
        return [ref.note] if ref.note and ref.kind == "branch" else []
    claimed = f"{', '.join(others)} already claim{'s' * (len(others) == 1)} it, and " if others else ""
    raise UsageError(
        f"the new series would claim {release}, but {claimed}it does not apply to {release} as the mirror has it "
        f"({misfit}); name what this checkout is with --release (a branch such as main, or its tag)",
        release,
    )


def _sweep_series_drafts(target_dir: Path) -> set[str]:
    """Remove the temporary series folders (``.ID.port-PID.dynmodels-tmp``) of ports that are gone; their ids."""
    import re

    from .state import _alive, _hostname

    removed = set()
    for draft in target_dir.glob(".*.port-*.dynmodels-tmp"):
        found = re.fullmatch(r"\.(.+)\.port-(\d+)\.dynmodels-tmp", draft.name)
        if found is None or draft.is_symlink() or not draft.is_dir():
            continue
        pid = int(found.group(2))
        if pid != os.getpid() and _alive({"pid": pid, "host": _hostname()}):
            continue
        shutil.rmtree(draft)
        removed.add(found.group(1))
    return removed


def _undo_unfinished_port(checkout: Checkout, state: StateDir, new_id: str, draft_was_left: bool) -> None:
    """A checkout with patches applied is refused, unless a port of this very series was killed after it patched
    the checkout and before its series folder was in place (its draft was left): then that apply is undone, as
    nothing was edited since, and the port runs again."""
    from . import engine

    manifest = state.read_manifest()
    if not (draft_was_left and manifest.series == new_id and not engine._drifted(checkout, manifest)):
        raise StateError("this checkout already has patches applied; roll back first", str(state.path))
    engine._rollback_locked(checkout, state, manifest)


def _put_series_in_place(checkout: Checkout, state: StateDir, draft: Path, series_dir: Path) -> None:
    """The last step: the draft becomes the series folder. Should that fail, the checkout is rolled back."""
    from . import engine
    from .errors import FileAccessError
    from .fsutil import sync_dir

    try:
        make_dirs(series_dir.parent)
        rename(draft, series_dir)
    except OSError as exc:
        shutil.rmtree(draft, ignore_errors=True)
        engine._rollback_locked(checkout, state, state.read_manifest())
        raise FileAccessError(
            f"cannot put the new series in place ({exc.strerror or exc}); the checkout was rolled back, nothing "
            "changed",
            str(series_dir),
        ) from None
    sync_dir(series_dir.parent)


def _entry_data(entry: PatchEntry) -> dict[str, object]:
    data: dict[str, object] = {"file": entry.file, "component": entry.component, "description": entry.description}
    if entry.installs:
        data["install"] = [f.path if f.path == f.source else {"path": f.path, "from": f.source} for f in entry.installs]
    return data


def _conflicted(ported: list[PortedFile], path: str) -> bool:
    return any(f.path == path and f.result == "conflict" for f in ported)
