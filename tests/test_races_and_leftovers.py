"""Races with other runs and other programs, and what killed runs leave behind: the lock, edits saved while a
command writes, refresh and port under the lock and killed at each of their write steps."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    HOOK,
    PATCHED_CONTROLLER,
    ROUTES,
    committed_tree,
    export,
    librechat_files,
    port_mirror,
    snapshot,
    write_series,
)
from librechat_dynmodels import engine, fsutil
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.errors import DriftError, DynModelsError, LockedError, StateError

SRC = str(Path(__file__).resolve().parent.parent / "src")
CONTROLLER_PATH = "api/server/controllers/ModelController.js"
ROUTES_PATH = "api/server/routes/models.js"
HOOK_PATH = "client/src/hooks/Input/useUserKey.ts"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def killed_at(step: int, work: Callable[[], object]) -> int:
    """Run ``work`` in a forked child that the fault hook kills at its ``step``th write step (no cleanup at
    all, as ``kill -9``); the child's exit code (137: killed there, 0: it finished before that step)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            fsutil._FAULT_KIND, fsutil._FAULT_AT, fsutil._steps = "kill", str(step), 0
            work()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """fsync as a no-op, for the sweeps: a killed process loses nothing the page cache holds (only a power cut
    would, which they do not simulate), and each write step stays a step; the syncs only cost time."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


def steps_of(work: Callable[[], object]) -> int:
    before = fsutil.steps_taken()
    work()
    return fsutil.steps_taken() - before


def leftovers(*folders: Path) -> list[Path]:
    return [
        p for folder in folders for p in folder.rglob("*") if p.name.endswith(".dynmodels-tmp") or ".lock." in p.name
    ]


# -- the lock -----------------------------------------------------------------------------------------------


def test_an_empty_lock_dated_in_the_future_is_stale_and_taken_over(tree: Path, catalog_dir: Path) -> None:
    state = tree / ".librechat-dynmodels"
    state.mkdir()
    (state / "lock").write_bytes(b"")  # linked before its bytes reached the disk, then a power cut
    in_an_hour = time.time() + 3600  # and the clock stepped back
    os.utime(state / "lock", (in_an_hour, in_an_hour))
    assert engine.apply(find_checkout(tree), load_catalog(catalog_dir)).outcome == "applied"
    assert not (state / "lock").exists()


def test_a_brand_new_unreadable_lock_is_refused_with_the_lock_file_named(tree: Path, catalog_dir: Path) -> None:
    state = tree / ".librechat-dynmodels"
    state.mkdir()
    (state / "lock").write_bytes(b"")
    with pytest.raises(LockedError) as refused:
        engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    assert "pid None" not in refused.value.message
    assert f"remove {state / 'lock'}" in refused.value.message


def test_the_lock_draft_is_synced_before_it_is_linked_into_place(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[tuple[str, int]] = []
    real_fsync, real_link = os.fsync, os.link

    def fsync(fd: int) -> None:
        events.append(("sync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def link(source: str | Path, target: str | Path) -> None:
        events.append(("link", os.stat(source).st_ino))
        real_link(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    draft = next(inode for kind, inode in events if kind == "link")
    assert events.index(("sync", draft)) < events.index(("link", draft))


def test_a_state_folder_removed_by_a_finishing_run_while_the_lock_is_taken_is_made_again(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from librechat_dynmodels import state as state_module

    real_write = state_module.write_synced
    removed: list[Path] = []

    def write_synced(path: Path, data: bytes, mode: int = 0o644) -> None:
        if not removed:  # a rollback that just released the lock removes the empty folder: rmdir
            removed.append(path.parent)
            path.parent.rmdir()
        real_write(path, data, mode)

    monkeypatch.setattr(state_module, "write_synced", write_synced)
    assert engine.apply(find_checkout(tree), load_catalog(catalog_dir)).outcome == "applied"
    assert removed == [tree / ".librechat-dynmodels"]


def test_a_lock_that_cannot_be_removed_after_a_whole_apply_is_reported_with_the_apply(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    real_unlink = Path.unlink

    def unlink(path: Path, missing_ok: bool = False) -> None:
        if path.name == "lock":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_unlink(path, missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    args = ["--patches", str(catalog_dir)]
    done = CliRunner().invoke(app, [*args, "--json", "apply", str(tree)])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)["data"]
    lock = tree / ".librechat-dynmodels" / "lock"
    assert data["outcome"] == "applied" and (tree / CONTROLLER_PATH).read_text() == PATCHED_CONTROLLER
    assert f"the lock {lock} could not be removed (No space left on device)" in data["lock_left"]
    assert "remove it by hand" in data["lock_left"] and lock.exists()
    real_unlink(lock)  # as the warning says (or the next run once this process is gone)
    rolled_back = CliRunner().invoke(app, [*args, "rollback", str(tree)])
    assert rolled_back.exit_code == 0, rolled_back.output
    assert f"warning: the lock {lock} could not be removed" in rolled_back.stdout
    assert (tree / CONTROLLER_PATH).read_text() == CONTROLLER


def test_a_rollback_killed_at_its_first_steps_leaves_nothing_after_the_next_apply_and_recover(
    tree: Path, catalog_dir: Path
) -> None:
    checkout, catalog = find_checkout(tree), load_catalog(catalog_dir)
    state = tree / ".librechat-dynmodels"
    for crash_at in range(1, 5):  # the lock draft, the journal's temporary file written, synced, renamed
        engine.apply(checkout, catalog)
        assert killed_at(crash_at, lambda: engine.rollback(checkout, catalog)) == 137
        engine.apply(checkout, catalog)
        engine.recover(checkout)
        assert not leftovers(state), f"a rollback killed at step {crash_at}"
        engine.rollback(checkout, catalog)


# -- an edit saved while a command writes ------------------------------------------------------------------


def edit_while_renaming(monkeypatch: pytest.MonkeyPatch, target: Path, text: str) -> None:
    """Another program saves ``target`` once every temporary file is synced, just before the renames."""
    real_sync = fsutil._fsync_file

    def sync(name: str) -> None:
        real_sync(name)
        if Path(name).name.startswith(f".{target.name}."):
            target.write_text(text)

    monkeypatch.setattr(fsutil, "_fsync_file", sync)


def test_an_edit_saved_while_apply_writes_is_kept_and_apply_refuses_as_drift(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pristine = snapshot(tree)
    edited = HOOK + "// saved by an editor while apply ran\n"
    edit_while_renaming(monkeypatch, tree / HOOK_PATH, edited)
    with pytest.raises(DriftError, match="changed while apply was writing it") as refused:
        engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    assert refused.value.path == HOOK_PATH
    assert (tree / HOOK_PATH).read_text() == edited
    assert snapshot(tree) == {**pristine, HOOK_PATH: (edited.encode(), pristine[HOOK_PATH][1])}


def test_a_file_another_program_creates_where_apply_creates_one_is_not_overwritten(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = tree / "api/server/services/UserModels/index.js"
    edit_while_renaming(monkeypatch, created, "// written by someone else meanwhile\n")
    with pytest.raises(DriftError, match="changed while apply was writing it"):
        engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    assert created.read_text() == "// written by someone else meanwhile\n"
    assert (tree / CONTROLLER_PATH).read_text() == CONTROLLER and not (tree / ".librechat-dynmodels").exists()


def test_an_edit_saved_while_rollback_restores_is_kept_and_rollback_refuses_as_drift(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkout, catalog = find_checkout(tree), load_catalog(catalog_dir)
    engine.apply(checkout, catalog)
    applied = snapshot(tree)
    edited = PATCHED_CONTROLLER + "// saved by an editor while rollback ran\n"
    edit_while_renaming(monkeypatch, tree / CONTROLLER_PATH, edited)
    with pytest.raises(DriftError, match="changed while rollback was writing it.*nothing was rolled back"):
        engine.rollback(checkout, catalog)
    monkeypatch.undo()
    assert (tree / CONTROLLER_PATH).read_text() == edited
    assert snapshot(tree) == {**applied, CONTROLLER_PATH: (edited.encode(), applied[CONTROLLER_PATH][1])}
    assert [f.path for f in engine.verify(checkout, catalog).files if f.state != "ok"] == [CONTROLLER_PATH]
    report = engine.rollback(checkout, catalog, engine.Options(force=True))
    assert report.kept_edited == (CONTROLLER_PATH + ".dynmodels-edited",)
    assert (tree / HOOK_PATH).read_text() == HOOK and (tree / ROUTES_PATH).read_text() == ROUTES


# -- refresh and port under the lock -----------------------------------------------------------------------

ROLLBACK_FORCE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from librechat_dynmodels import engine, checkout as co
    from librechat_dynmodels.catalog import load_catalog
    from librechat_dynmodels.errors import DynModelsError
    root, catalog = co.find_checkout(Path(sys.argv[1])), load_catalog(Path(sys.argv[2]))
    try:
        engine.rollback(root, catalog, engine.Options(force=True))
    except DynModelsError as error:
        print(f"refused ({error.code}): {error}")
        sys.exit(1)
    """
)


@needs_git
def test_refresh_holds_the_lock_so_a_rollback_force_meanwhile_is_refused(
    tmp_path: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from librechat_dynmodels.maintain import refresh
    from librechat_dynmodels.state import StateDir

    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    (root / ROUTES_PATH).write_text((root / ROUTES_PATH).read_text() + "// edited\n")
    meanwhile: list[subprocess.CompletedProcess[str]] = []
    real_write = StateDir.write_manifest

    def write_manifest(state: StateDir, manifest: object) -> None:  # refresh is about to write the manifest
        env = dict(os.environ, PYTHONPATH=SRC)
        args = [sys.executable, "-c", ROLLBACK_FORCE, str(root), str(catalog_dir)]
        meanwhile.append(subprocess.run(args, capture_output=True, text=True, env=env, timeout=60))
        real_write(state, manifest)  # type: ignore[arg-type]

    monkeypatch.setattr(StateDir, "write_manifest", write_manifest)
    refresh(checkout, load_catalog(catalog_dir))
    monkeypatch.undo()
    assert meanwhile[0].returncode == 1 and "refused (locked)" in meanwhile[0].stdout, meanwhile[0].stdout
    assert engine.verify(checkout, load_catalog(catalog_dir)).ok
    engine.rollback(checkout, load_catalog(catalog_dir))
    assert (root / ROUTES_PATH).read_text() == ROUTES and not (root / ".librechat-dynmodels").exists()


@needs_git
def test_a_refresh_while_a_rollback_writes_is_refused_as_locked_not_as_a_deletion(
    tmp_path: Path, catalog_dir: Path
) -> None:
    from librechat_dynmodels.maintain import refresh

    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    refused: list[DynModelsError] = []

    def on_write(relpath: str) -> None:
        if relpath == "api/server/services/UserModels/index.js" and not refused:  # deleted by now
            try:
                refresh(checkout, load_catalog(catalog_dir))
            except DynModelsError as error:
                refused.append(error)

    engine.rollback(checkout, load_catalog(catalog_dir), on_write=on_write)
    assert isinstance(refused[0], LockedError), refused[0]


@needs_git
def test_refresh_refuses_a_checkout_rolled_back_before_it_took_the_lock(tmp_path: Path, catalog_dir: Path) -> None:
    from librechat_dynmodels.maintain import refresh
    from librechat_dynmodels.state import StateDir

    root = committed_tree(tmp_path / "lc", librechat_files())
    checkout = find_checkout(root)
    engine.apply(checkout, load_catalog(catalog_dir))
    real_acquire = StateDir.acquire_lock

    def acquire_lock(state: StateDir) -> None:
        if state.has_manifest():  # refresh, not the rollback below
            with pytest.MonkeyPatch.context() as unpatched:
                unpatched.setattr(StateDir, "acquire_lock", real_acquire)
                engine.rollback(checkout, load_catalog(catalog_dir))  # finished just before refresh got the lock
        real_acquire(state)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StateDir, "acquire_lock", acquire_lock)
        with pytest.raises(StateError, match="refresh needs a checkout patched by this tool"):
            refresh(checkout, load_catalog(catalog_dir))
    assert not (root / ".librechat-dynmodels").exists()


def edited_checkout_for_refresh(tmp_path: Path) -> tuple[Path, Path]:
    """A patched checkout a maintainer edited: a patched file changed, another edited back to its original,
    and a new file in a component the series has no patch for (a new patch file and series.yaml line)."""
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir)
    files = librechat_files()
    files["packages/data-provider/src/config.ts"] = "export const a = 1;\n"
    root = committed_tree(tmp_path / "lc", files)
    engine.apply(find_checkout(root), load_catalog(catalog_dir))
    (root / CONTROLLER_PATH).write_text(PATCHED_CONTROLLER.replace("(req, config)", "(req, config, true)"))
    (root / ROUTES_PATH).write_text(ROUTES)
    (root / "packages/data-provider/src/config.ts").write_text("export const a = 2;\n")
    return root, catalog_dir


@needs_git
@pytest.mark.usefixtures("no_fsync")
def test_refresh_killed_at_any_write_step_leaves_no_temporaries_and_the_next_refresh_finishes(
    tmp_path: Path,
) -> None:
    from librechat_dynmodels.maintain import refresh

    include = ("packages/data-provider/src/config.ts",)
    template_root, template_catalog = edited_checkout_for_refresh(tmp_path / "template")

    def copy(name: str) -> tuple[Path, Path]:
        root = shutil.copytree(template_root, tmp_path / name / "lc", symlinks=True)
        return root, shutil.copytree(template_catalog, tmp_path / name / "catalog", symlinks=True)

    def run(root: Path, catalog_dir: Path) -> object:
        return refresh(find_checkout(root), load_catalog(catalog_dir), include)

    root, catalog_dir = copy("reference")
    total = steps_of(lambda: run(root, catalog_dir))
    reference = (snapshot(root), snapshot(catalog_dir))
    assert total >= 16
    for crash_at in range(1, total + 1):
        root, catalog_dir = copy(f"killed-{crash_at}")
        assert killed_at(crash_at, lambda: run(root, catalog_dir)) == 137  # noqa: B023
        run(root, catalog_dir)
        assert not leftovers(root, catalog_dir), f"refresh killed at step {crash_at}"
        assert (snapshot(root), snapshot(catalog_dir)) == reference, f"refresh killed at step {crash_at}"
    assert engine.verify(find_checkout(root), load_catalog(catalog_dir)).ok


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    return port_mirror(tmp_path / "mirror-work")


@needs_git
def test_a_port_refused_by_a_locked_checkout_leaves_no_series(tmp_path: Path, mirror: Path) -> None:
    from librechat_dynmodels.maintain import port

    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3")
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")
    (root / ".librechat-dynmodels").mkdir()
    (root / ".librechat-dynmodels" / "lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    before = snapshot(catalog_dir)
    with pytest.raises(LockedError):
        port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)
    assert snapshot(catalog_dir) == before
    assert [s.id for s in load_catalog(catalog_dir).series.values()] == ["dynmodels-v0.8.3"]


def without_manifest(tree: dict[str, tuple[bytes, int]]) -> dict[str, tuple[bytes, int]]:
    return {path: data for path, data in tree.items() if not path.endswith("manifest.json")}  # it says when


@needs_git
@pytest.mark.usefixtures("no_fsync")
def test_port_killed_at_any_write_step_leaves_no_series_and_the_next_port_finishes(
    tmp_path: Path, mirror: Path
) -> None:
    from librechat_dynmodels.maintain import port

    template_catalog = tmp_path / "template-catalog"
    write_series(template_catalog, "dynmodels-v0.8.3")

    def copy(name: str) -> tuple[Path, Path]:
        catalog_dir = shutil.copytree(template_catalog, tmp_path / name / "catalog")
        return export(mirror, "v0.8.4", tmp_path / name / "lc"), catalog_dir

    def run(root: Path, catalog_dir: Path) -> object:
        return port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)

    root, catalog_dir = copy("reference")
    total = steps_of(lambda: run(root, catalog_dir))
    reference = (without_manifest(snapshot(root)), snapshot(catalog_dir))
    assert total >= 40
    for crash_at in range(1, total + 1):
        root, catalog_dir = copy(f"killed-{crash_at}")
        assert killed_at(crash_at, lambda: run(root, catalog_dir)) == 137  # noqa: B023
        if (catalog_dir / "dynmodels-v0.8.4").exists():  # killed after the series was in place: the port is done
            with pytest.raises(StateError, match="already has patches applied"):
                run(root, catalog_dir)
            engine.recover(find_checkout(root))  # what the next writing command does first
        else:
            run(root, catalog_dir)
        assert not leftovers(root, catalog_dir), f"port killed at step {crash_at}"
        assert (without_manifest(snapshot(root)), snapshot(catalog_dir)) == reference, f"killed at step {crash_at}"
    assert engine.verify(find_checkout(root), load_catalog(catalog_dir)).ok
