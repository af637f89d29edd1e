from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    HOOK,
    PATCHED_CONTROLLER,
    PATCHED_HOOK,
    ROUTES,
    build_tree,
    git_diff,
    librechat_files,
    snapshot,
    write_series,
)
from librechat_dynmodels import engine, fsutil
from librechat_dynmodels.catalog import Catalog, load_catalog
from librechat_dynmodels.checkout import Checkout, find_checkout
from librechat_dynmodels.engine import Options
from librechat_dynmodels.errors import (
    DriftError,
    FileAccessError,
    NoSeriesError,
    PatchFailedError,
    StateError,
    UnsafePathError,
    UsageError,
)

CONTROLLER_PATH = "api/server/controllers/ModelController.js"
SERVICE_PATH = "api/server/services/UserModels/index.js"


def test_check_reports_every_hunk_and_writes_nothing(checkout: Checkout, catalog: Catalog) -> None:
    before = snapshot(checkout.root)
    report = engine.check(checkout, catalog)
    assert report.ok and report.state == "pristine"
    assert {h.status for f in report.files for h in f.hunks} == {"exact"}
    assert report.series.id == "dynmodels-test" and report.series.reason == "content"
    assert snapshot(checkout.root) == before


def test_apply_then_rollback_restores_every_byte(checkout: Checkout, catalog: Catalog) -> None:
    before = snapshot(checkout.root)
    report = engine.apply(checkout, catalog)
    assert report.outcome == "applied"
    assert (checkout.root / CONTROLLER_PATH).read_text() == PATCHED_CONTROLLER
    assert (checkout.root / SERVICE_PATH).exists()
    assert engine.verify(checkout, catalog).ok
    rolled = engine.rollback(checkout, catalog)
    assert rolled.outcome == "rolled back" and SERVICE_PATH in rolled.deleted
    assert snapshot(checkout.root) == before  # also: no state dir, no created folder left


@pytest.mark.parametrize(
    "variant",
    ["crlf", "bom", "no-final-newline", "executable"],
)
def test_round_trip_keeps_line_endings_bom_newline_state_and_mode(tmp_path: Path, variant: str) -> None:
    files = librechat_files()
    raw = CONTROLLER.encode()
    if variant == "crlf":
        raw = raw.replace(b"\n", b"\r\n")
    elif variant == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif variant == "no-final-newline":
        raw = raw.rstrip(b"\n")
    files[CONTROLLER_PATH] = raw
    root = build_tree(tmp_path / "lc", files)
    if variant == "executable":
        os.chmod(root / CONTROLLER_PATH, 0o755)
    write_series(tmp_path / "cat")
    checkout, catalog = find_checkout(root), load_catalog(tmp_path / "cat")
    before = snapshot(root)

    engine.apply(checkout, catalog)
    patched = (root / CONTROLLER_PATH).read_bytes()
    expected = PATCHED_CONTROLLER.encode()
    if variant == "crlf":
        assert patched == expected.replace(b"\n", b"\r\n")
    elif variant == "bom":
        assert patched == b"\xef\xbb\xbf" + expected
    elif variant == "no-final-newline":
        assert patched == expected.rstrip(b"\n")
    else:
        assert stat.S_IMODE((root / CONTROLLER_PATH).stat().st_mode) == 0o755

    engine.rollback(checkout, catalog)
    assert snapshot(root) == before


def test_applying_again_changes_nothing(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    after_first = snapshot(checkout.root)
    report = engine.apply(checkout, catalog)
    assert report.outcome == "already applied"
    assert snapshot(checkout.root) == after_first


def test_a_failing_hunk_writes_nothing_at_all(checkout: Checkout, catalog: Catalog) -> None:
    target = checkout.root / "client/src/hooks/Input/useUserKey.ts"
    target.write_text(HOOK.replace("updateKey.mutate({ name: endpoint });", "updateKey.mutate({ name });"))
    before = snapshot(checkout.root)
    with pytest.raises(
        NoSeriesError,
        match=r"the client component of dynmodels-test does not fit \(first: .*useUserKey.ts "
        r"hunk 1 of 0002-client.patch fails at line 5: expected .*nothing was written",
    ):
        engine.apply(checkout, catalog)
    with pytest.raises(PatchFailedError, match=r"hunk 1 of 0002-client.patch fails at line 5.*nothing was written"):
        engine.apply(checkout, catalog, Options(series_id="dynmodels-test"))
    assert snapshot(checkout.root) == before
    report = engine.check(checkout, catalog)
    assert not report.ok and report.series.reason == "closest"


def test_series_is_chosen_by_content_for_a_fork(tmp_path: Path, catalog_dir: Path) -> None:
    files = librechat_files(version="v9.9.9-myfork")
    files["api/server/routes/models.js"] = "// fork header\n// another line\n" + ROUTES
    files["api/other.js"] = "unrelated\n"
    root = build_tree(tmp_path / "fork", files)
    write_series(
        catalog_dir,
        "dynmodels-other",
        releases=("v9.9.9-myfork",),
        patches={
            "0001-backend.patch": ("backend", git_diff({CONTROLLER_PATH: ("nothing like it\n", "x\n")})),
        },
    )
    report = engine.check(find_checkout(root), load_catalog(catalog_dir))
    assert report.ok and report.series.id == "dynmodels-test"
    assert any(h.status == "offset" for f in report.files for h in f.hunks)


def test_no_series_fits_names_the_closest(tmp_path: Path, catalog: Catalog) -> None:
    files = librechat_files()
    files[CONTROLLER_PATH] = "completely different\n"
    checkout = find_checkout(build_tree(tmp_path / "lc", files))
    with pytest.raises(
        NoSeriesError, match=r"no series fits this checkout \(closest: dynmodels-test, 3 of 5 hunks match"
    ):
        engine.apply(checkout, catalog)


def test_series_option_overrides_the_choice(checkout: Checkout, catalog_dir: Path) -> None:
    write_series(catalog_dir, "dynmodels-zzz")
    catalog = load_catalog(catalog_dir)
    assert engine.check(checkout, catalog, Options(series_id="dynmodels-zzz")).series.reason == "--series"
    with pytest.raises(NoSeriesError, match="no series 'nope'"):
        engine.check(checkout, catalog, Options(series_id="nope"))


def test_pre_native_series_is_never_applied_to_a_native_release(tmp_path: Path, catalog: Catalog) -> None:
    files = librechat_files("v0.8.5")
    files["packages/api/src/endpoints/config/models.ts"] = "createLoadConfigModels getUserKeyValues\n"
    checkout = find_checkout(build_tree(tmp_path / "lc", files))
    with pytest.raises(NoSeriesError, match="no series for native releases"):
        engine.check(checkout, catalog)
    with pytest.raises(NoSeriesError, match="refusing to add a second implementation"):
        engine.apply(checkout, catalog, Options(series_id="dynmodels-test"))
    assert not checkout.state_dir.exists()


def test_component_subset_applies_only_that_and_what_it_needs(checkout: Checkout, catalog: Catalog) -> None:
    report = engine.apply(checkout, catalog, Options(components=("backend",)))
    assert report.components == ("backend",)
    assert (checkout.root / "client/src/hooks/Input/useUserKey.ts").read_text() == HOOK
    report = engine.apply(checkout, catalog, Options(components=("client",)))
    assert report.components == ("backend", "client")
    assert (checkout.root / "client/src/hooks/Input/useUserKey.ts").read_text() == PATCHED_HOOK
    with pytest.raises(UsageError, match="has no component data-provider"):
        engine.check(checkout, catalog, Options(components=("data-provider",), series_id="dynmodels-test"))


def test_fuzz_beyond_two_is_a_usage_error(checkout: Checkout, catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="--fuzz must be between 0 and 2"):
        engine.check(checkout, catalog, Options(fuzz=3))


def test_dry_run_shows_the_diff_and_writes_nothing(checkout: Checkout, catalog: Catalog) -> None:
    before = snapshot(checkout.root)
    report = engine.apply(checkout, catalog, Options(dry_run=True))
    assert report.outcome == "would apply"
    assert report.diff and "+router.post('/fetch'" in report.diff and "--- /dev/null" in report.diff
    assert snapshot(checkout.root) == before


def test_status_reports_release_native_series_and_states(checkout: Checkout, catalog: Catalog) -> None:
    report = engine.status(checkout, catalog)
    assert (report.librechat_version, report.native_support, report.state) == ("v0.8.3", False, "pristine")
    engine.apply(checkout, catalog)
    assert engine.status(checkout, catalog).state == "patched"
    (checkout.root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER + "// my edit\n")
    report = engine.status(checkout, catalog)
    assert report.state == "drifted"
    assert {f.path: f.state for f in report.files}[CONTROLLER_PATH] == "drifted"


def test_status_without_state_recognises_partial_patching(checkout: Checkout, catalog: Catalog) -> None:
    (checkout.root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER)
    report = engine.status(checkout, catalog)
    assert report.state == "partially patched"
    with pytest.raises(DriftError, match="partially patched"):
        engine.apply(checkout, catalog)
    assert engine.apply(checkout, catalog, Options(force=True)).outcome == "applied"
    assert engine.status(checkout, catalog).state == "patched"


def test_a_patched_fork_without_state_is_patched_and_an_appended_export_is_never_added_twice(
    tmp_path: Path,
) -> None:
    index = "export { default as useA } from './useA';\nexport { default as useB } from './useB';\n"
    appended = index + "export { default as useUserModelsRefresh } from './useUserModelsRefresh';\n"
    catalog_dir = tmp_path / "catalog"
    client_patch = git_diff({"client/index.ts": (index, appended)})
    write_series(catalog_dir, patches={"0001-client.patch": ("client", client_patch)})
    catalog = load_catalog(catalog_dir)
    checkout = find_checkout(build_tree(tmp_path / "fork", {**librechat_files(), "client/index.ts": appended}))

    assert engine.status(checkout, catalog).state == "patched"
    assert engine.apply(checkout, catalog).outcome == "already applied"
    engine.apply(checkout, catalog, Options(force=True))
    assert (checkout.root / "client/index.ts").read_text() == appended


def test_the_partially_patched_refusal_is_one_short_line(checkout: Checkout, catalog: Catalog) -> None:
    (checkout.root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER)
    (checkout.root / "client/src/hooks/Input/useUserKey.ts").write_text(PATCHED_HOOK)
    with pytest.raises(DriftError) as refused:
        engine.apply(checkout, catalog)
    shown = str(refused.value)
    hook = "client/src/hooks/Input/useUserKey.ts"
    assert shown.startswith(f"{CONTROLLER_PATH}: partially patched without a manifest (and {hook});")
    assert "\n" not in shown and len(shown.replace(str(checkout.root), "/srv/LibreChat")) < 240


def test_verify_names_drifted_and_missing_files(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    (checkout.root / CONTROLLER_PATH).write_text("edited\n")
    (checkout.root / SERVICE_PATH).unlink()
    report = engine.verify(checkout, catalog, Options(verbose=True))
    assert not report.ok
    states = {f.path: f for f in report.files}
    assert states[CONTROLLER_PATH].state == "drifted" and states[SERVICE_PATH].state == "missing"
    assert "+edited" in (states[CONTROLLER_PATH].diff or "")


def test_verify_without_state_is_an_error(checkout: Checkout, catalog: Catalog) -> None:
    with pytest.raises(StateError, match="nothing was applied here"):
        engine.verify(checkout, catalog)


def test_apply_refuses_when_target_was_edited_unless_forced(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    edited = PATCHED_CONTROLLER + "// my edit\n"
    (checkout.root / CONTROLLER_PATH).write_text(edited)
    with pytest.raises(DriftError, match="changed since the patches were applied"):
        engine.apply(checkout, catalog)
    report = engine.apply(checkout, catalog, Options(force=True))
    assert report.outcome == "applied" and report.rolled_back_first
    assert (checkout.root / (CONTROLLER_PATH + ".dynmodels-edited")).read_text() == edited
    assert engine.verify(checkout, catalog).ok


def test_rollback_refuses_edited_files_and_force_keeps_the_edit(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    edited = PATCHED_CONTROLLER + "// my edit\n"
    (checkout.root / CONTROLLER_PATH).write_text(edited)
    with pytest.raises(DriftError, match="rollback --force"):
        engine.rollback(checkout, catalog)
    assert checkout.state_dir.exists()
    report = engine.rollback(checkout, catalog, Options(force=True))
    assert report.kept_edited == (CONTROLLER_PATH + ".dynmodels-edited",)
    assert (checkout.root / CONTROLLER_PATH).read_text() == CONTROLLER
    assert (checkout.root / (CONTROLLER_PATH + ".dynmodels-edited")).read_text() == edited


def test_rollback_of_a_pristine_checkout_is_nothing_to_do(checkout: Checkout, catalog: Catalog) -> None:
    assert engine.rollback(checkout, catalog).outcome == "nothing to roll back"
    assert not checkout.state_dir.exists()


def test_read_only_file_gives_an_error_and_changes_nothing(checkout: Checkout, catalog: Catalog) -> None:
    os.chmod(checkout.root / CONTROLLER_PATH, 0o444)
    before = snapshot(checkout.root)
    with pytest.raises(FileAccessError, match="read-only"):
        engine.apply(checkout, catalog)
    assert snapshot(checkout.root) == before


def test_rollback_refuses_a_read_only_folder_before_restoring_anything(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    folder = (checkout.root / CONTROLLER_PATH).parent
    os.chmod(folder, 0o555)
    try:
        patched = snapshot(checkout.root)
        with pytest.raises(FileAccessError, match="read-only; nothing was changed"):
            engine.rollback(checkout, catalog)
        assert snapshot(checkout.root) == patched
    finally:
        os.chmod(folder, 0o755)
    engine.rollback(checkout, catalog)


def test_apply_refuses_before_the_first_write_when_the_disk_cannot_hold_it_and_its_undo(
    checkout: Checkout, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**9, 10**9 - 200 * 1024, 200 * 1024))
    before = snapshot(checkout.root)
    with pytest.raises(FileAccessError, match="not enough free space: .* 200 KiB are free; nothing was changed"):
        engine.apply(checkout, catalog)
    assert snapshot(checkout.root) == before


@pytest.mark.parametrize("force", [False, True])
def test_ctrl_c_while_files_are_written_finishes_the_apply_and_reports_it(
    checkout: Checkout, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    import signal

    if force:
        engine.apply(checkout, catalog)
        (checkout.root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER + "// edited\n")
    real_write = fsutil._stage
    writes = []

    def interrupted(path: Path, data: bytes, mode: int | None = None) -> str:
        writes.append(path)
        if len(writes) == 3:
            os.kill(os.getpid(), signal.SIGINT)
        return real_write(path, data, mode)

    monkeypatch.setattr(fsutil, "_stage", interrupted)
    # Python's own Ctrl-C handler, whatever the test run inherited: a background job, nohup and some CI
    # runners start with SIGINT ignored, under which a Ctrl-C the tool failed to hold would pass unseen.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        report = engine.apply(checkout, catalog, Options(force=force))
        assert report.outcome == "applied"
        assert engine.verify(checkout, catalog).ok
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_full_disk_during_writes_is_undone(
    checkout: Checkout, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(checkout.root)
    real_write = fsutil._stage
    calls = {"n": 0}

    def failing_write(path: Path, data: bytes, mode: int | None = None) -> str:
        calls["n"] += checkout.state_dir not in path.parents and ".git" not in path.parts
        if calls["n"] == 2:
            raise OSError(28, "No space left on device", str(path))
        return real_write(path, data, mode)

    monkeypatch.setattr(fsutil, "_stage", failing_write)
    with pytest.raises(FileAccessError, match="No space left on device.*nothing changed"):
        engine.apply(checkout, catalog)
    assert snapshot(checkout.root) == before


def test_unsafe_path_in_a_patch_is_refused_before_anything_is_written(checkout: Checkout, tmp_path: Path) -> None:
    evil = git_diff({CONTROLLER_PATH: (CONTROLLER, PATCHED_CONTROLLER), "../escaped.js": (None, "pwned\n")})
    write_series(tmp_path / "evil", patches={"0001-backend.patch": ("backend", evil)})
    before = snapshot(checkout.root)
    with pytest.raises(UnsafePathError, match="'..'"):
        engine.apply(checkout, load_catalog(tmp_path / "evil"))
    assert snapshot(checkout.root) == before
    assert not (checkout.root.parent / "escaped.js").exists()


def test_corrupt_manifest_is_refused(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    manifest = checkout.state_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files"][0]["original_sha256"] = "0" * 64
    manifest.write_text(json.dumps(data))
    patched = snapshot(checkout.root)
    for command in (engine.rollback, engine.apply, engine.verify):
        with pytest.raises(StateError, match="fails its checksum"):
            command(checkout, catalog)
    manifest.write_text("{not json")
    with pytest.raises(StateError, match="corrupt"):
        engine.rollback(checkout, catalog)
    assert snapshot(checkout.root) == {**patched, ".librechat-dynmodels/manifest.json": (b"{not json", 0o644)}


def test_a_state_folder_that_is_a_symlink_is_refused_and_nothing_outside_is_touched(
    checkout: Checkout, catalog: Catalog, tmp_path: Path
) -> None:
    volume = tmp_path / "volume"
    (volume / "backups").mkdir(parents=True)
    (volume / "backups" / "db-dump.sql").write_text("precious\n")
    os.symlink(volume, checkout.state_dir)
    before = snapshot(checkout.root)
    for command in (engine.apply, engine.rollback, engine.status):
        with pytest.raises(UnsafePathError, match="state folder is a symlink"):
            command(checkout, catalog)
    assert (volume / "backups" / "db-dump.sql").read_text() == "precious\n"
    assert sorted(p.name for p in volume.rglob("*")) == ["backups", "db-dump.sql"]
    assert snapshot(checkout.root) == before


def test_a_backups_folder_that_is_a_symlink_is_refused_before_anything_is_restored(
    checkout: Checkout, catalog: Catalog, tmp_path: Path
) -> None:
    engine.apply(checkout, catalog)
    backups = checkout.state_dir / "backups"
    elsewhere = tmp_path / "elsewhere"
    backups.rename(elsewhere)
    os.symlink(elsewhere, backups)
    patched = snapshot(checkout.root)
    with pytest.raises(UnsafePathError, match="state folder is a symlink"):
        engine.rollback(checkout, catalog)
    assert snapshot(checkout.root) == patched and elsewhere.is_dir()


@pytest.mark.parametrize("unsafe", ["/tmp", "../outside", "api/../../x", ".git/hooks", ".", ""])
def test_a_manifest_naming_an_unsafe_path_is_refused_even_with_a_valid_checksum(
    checkout: Checkout, catalog: Catalog, tmp_path: Path, unsafe: str
) -> None:
    from librechat_dynmodels.state import _checksum

    engine.apply(checkout, catalog)
    manifest = checkout.state_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data.pop("checksum")
    data["created_dirs"] = [unsafe]
    data["checksum"] = _checksum(data)
    manifest.write_text(json.dumps(data))
    (tmp_path / "outside").mkdir(exist_ok=True)
    patched = snapshot(checkout.root)
    with pytest.raises(StateError, match="unsafe path"):
        engine.rollback(checkout, catalog)
    assert snapshot(checkout.root) == patched and (tmp_path / "outside").is_dir()


def test_corrupt_backup_is_refused(checkout: Checkout, catalog: Catalog) -> None:
    engine.apply(checkout, catalog)
    backup = checkout.state_dir / "backups" / CONTROLLER_PATH
    backup.write_text("tampered\n")
    patched = snapshot(checkout.root)
    with pytest.raises(StateError, match="backup of .* fails its checksum"):
        engine.rollback(checkout, catalog)
    assert snapshot(checkout.root) == patched


def test_the_git_exclude_is_written_before_any_target_and_restored_by_the_next_apply(
    checkout: Checkout, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    exclude = checkout.root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True)
    real_write = fsutil._stage
    seen = []

    def watching(path: Path, data: bytes, mode: int | None = None) -> str:
        if checkout.state_dir not in path.parents and path != exclude:
            seen.append(exclude.exists() and "/.librechat-dynmodels/" in exclude.read_text())
        return real_write(path, data, mode)

    monkeypatch.setattr(fsutil, "_stage", watching)
    engine.apply(checkout, catalog)
    assert seen and all(seen)
    exclude.write_text("")  # as a run killed after its last write left it
    assert engine.apply(checkout, catalog).outcome == "already applied"
    assert "/.librechat-dynmodels/" in exclude.read_text()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root: chown to another user")
def test_run_as_root_every_file_keeps_the_checkout_owner(checkout: Checkout, catalog: Catalog) -> None:
    owner = (12345, 23456)
    for path in [checkout.root, *checkout.root.rglob("*")]:
        os.lchown(path, *owner)

    def owners() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(checkout.root)): (p.stat().st_uid, p.stat().st_gid)
            for p in checkout.root.rglob("*")
            if ".git" not in p.parts
        }

    engine.apply(checkout, catalog)
    assert {path: ids for path, ids in owners().items() if ids != owner} == {}
    engine.rollback(checkout, catalog)
    assert {path: ids for path, ids in owners().items() if ids != owner} == {}


def test_rollback_leaves_the_checkout_as_released_without_temporaries_state_or_exclude_line(
    checkout: Checkout, catalog: Catalog
) -> None:
    exclude = checkout.root / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True)
    exclude.write_text("# the admin's own line\n")
    pristine = snapshot(checkout.root)
    engine.apply(checkout, catalog)
    # what runs killed while writing leave behind
    target = checkout.root / CONTROLLER_PATH
    (target.parent / f".{target.name}.k1ll3d.dynmodels-tmp").write_text("half")
    (checkout.state_dir / ".manifest.json.x9q.dynmodels-tmp").write_text("half")
    (checkout.state_dir / "backups" / "api" / ".x.js.a1.dynmodels-tmp").write_text("half")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (checkout.state_dir / f".lock.{int(dead.stdout)}").write_text("{}")
    engine.rollback(checkout, catalog)
    assert snapshot(checkout.root) == pristine
    assert exclude.read_text() == "# the admin's own line\n"


def test_state_dir_is_excluded_from_git(checkout: Checkout, catalog: Catalog) -> None:
    (checkout.root / ".git" / "info").mkdir(parents=True)
    engine.apply(checkout, catalog)
    assert "/.librechat-dynmodels/" in (checkout.root / ".git/info/exclude").read_text().splitlines()


# -- a checkout upgraded to another release after apply -------------------------------------


def upgrade(root: Path, version: str, files: dict[str, str]) -> Checkout:
    """What `git checkout` of a newer release does to a patched tree: tracked files replaced,
    the series' created files and the state folder left behind."""
    build_tree(root, {"package.json": json.dumps({"name": "LibreChat", "version": version}), **files})
    return find_checkout(root)


NEW_RELEASE_CONTROLLER = CONTROLLER.replace("await loadDefaultModels(req);", "await loadDefaultModels(req, 2);")


def test_an_upgraded_checkout_is_explained_and_apply_refuses_even_with_force(
    checkout: Checkout, catalog: Catalog
) -> None:
    engine.apply(checkout, catalog)
    upgraded = upgrade(checkout.root, "v0.8.9", {CONTROLLER_PATH: NEW_RELEASE_CONTROLLER})
    status = engine.status(upgraded, catalog)
    assert status.message is not None and "applied when this checkout was v0.8.3; it is v0.8.9 now" in status.message
    before = snapshot(upgraded.root)
    for opts in (Options(), Options(force=True)):
        with pytest.raises(DriftError, match="roll back first .*: librechat-dynmodels rollback /"):
            engine.apply(upgraded, catalog, opts)
        assert snapshot(upgraded.root) == before


def test_rollback_of_an_upgraded_checkout_leaves_the_new_release_files_and_removes_the_series(
    checkout: Checkout, catalog: Catalog
) -> None:
    engine.apply(checkout, catalog)
    upgraded = upgrade(checkout.root, "v0.8.9", {CONTROLLER_PATH: NEW_RELEASE_CONTROLLER})

    report = engine.rollback(upgraded, catalog)  # no --force needed: nothing of the user's is at stake

    assert report.left_as_released == (CONTROLLER_PATH,)
    assert (upgraded.root / CONTROLLER_PATH).read_text() == NEW_RELEASE_CONTROLLER
    assert SERVICE_PATH in report.deleted and not (upgraded.root / SERVICE_PATH).exists()
    assert (upgraded.root / "api/server/routes/models.js").read_text() == ROUTES  # untouched by the upgrade
    assert not upgraded.state_dir.exists() and report.kept_edited == ()
    assert not list(upgraded.root.rglob("*.dynmodels-edited"))


def test_apply_force_that_would_not_fit_the_originals_changes_nothing(checkout: Checkout, catalog_dir: Path) -> None:
    engine.apply(checkout, load_catalog(catalog_dir))
    (checkout.root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER + "// edited\n")
    before = snapshot(checkout.root)
    # Another series is forced that the originals do not fit: the plan fails before anything is rolled back.
    write_series(
        catalog_dir,
        "dynmodels-other",
        patches={"0001-backend.patch": ("backend", git_diff({CONTROLLER_PATH: (HOOK, PATCHED_HOOK)}))},
    )
    with pytest.raises(PatchFailedError):
        engine.apply(checkout, load_catalog(catalog_dir), Options(series_id="dynmodels-other", force=True))
    assert snapshot(checkout.root) == before
