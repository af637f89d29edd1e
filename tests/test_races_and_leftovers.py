"""Races with other runs and other programs, and what killed runs leave behind: the lock, edits saved while a
command writes, refresh and port under the lock and killed at each of their write steps."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import (
    CONTROLLER,
    HOOK,
    PATCHED_CONTROLLER,
    ROUTES,
    build_tree,
    snapshot,
)
from librechat_dynmodels import engine, fsutil
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.errors import DriftError, LockedError

SRC = str(Path(__file__).resolve().parent.parent / "src")
CONTROLLER_PATH = "api/server/controllers/ModelController.js"
ROUTES_PATH = "api/server/routes/models.js"
HOOK_PATH = "client/src/hooks/Input/useUserKey.ts"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True, capture_output=True
    )


def committed_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    build_tree(root, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


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
