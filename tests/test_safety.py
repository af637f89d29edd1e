"""Crash safety, locking and concurrency, with real processes that really die."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import PATCHED_CONTROLLER, build_tree, librechat_files, snapshot, write_series
from librechat_dynmodels import engine
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.errors import InterruptedOperationError, LockedError

SRC = str(Path(__file__).resolve().parent.parent / "src")

# Runs one engine command in a child under the fault hook (LIBRECHAT_DYNMODELS_FAULT): "kill:N" dies with no
# cleanup at all at its Nth write step, "full:N" meets a full disk there; it prints the steps it took.
CRASHER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from librechat_dynmodels import engine, fsutil, checkout as co
    from librechat_dynmodels.catalog import load_catalog
    from librechat_dynmodels.errors import DynModelsError
    root, catalog_dir, command = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    name, _, force = command.partition(" --")
    try:
        if name == "recover":
            engine.recover(co.find_checkout(root))
        else:
            getattr(engine, name)(co.find_checkout(root), load_catalog(catalog_dir), engine.Options(force=bool(force)))
    except DynModelsError as error:
        print(f"refused: {error}", file=sys.stderr)
        sys.exit(1)
    print(fsutil.steps_taken())
    """
)


def run_child(root: Path, catalog_dir: Path, command: str, fault: str = "") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC, LIBRECHAT_DYNMODELS_FAULT=fault)
    return subprocess.run(
        [sys.executable, "-c", CRASHER, str(root), str(catalog_dir), command],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def fresh(tmp_path: Path, name: str) -> tuple[Path, Path]:
    root = build_tree(tmp_path / name, librechat_files())
    (root / ".git" / "info").mkdir(parents=True)
    catalog_dir = tmp_path / "catalog"
    if not catalog_dir.exists():
        write_series(catalog_dir)
    return root, catalog_dir


def steps_of(tmp_path: Path, command: str) -> int:
    root, catalog_dir = fresh(tmp_path, f"count-{command.replace(' ', '')}")
    prepare(root, catalog_dir, command)
    done = run_child(root, catalog_dir, command)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def prepare(root: Path, catalog_dir: Path, command: str) -> None:
    """What each command finds: rollback an applied checkout, --force one an admin edited since."""
    if command != "apply":
        engine.apply(find_checkout(root), load_catalog(catalog_dir))
    if command.endswith("--force"):
        edited = root / "api/server/controllers/ModelController.js"
        edited.write_text(edited.read_text() + "// edited by the admin\n")


@pytest.mark.parametrize("command", ["apply --force", "rollback --force"])
def test_a_forced_run_killed_at_any_write_step_loses_no_edit_and_the_next_run_finishes(
    tmp_path: Path, command: str
) -> None:
    total = steps_of(tmp_path, command)
    for crash_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"{command.replace(' ', '')}-{crash_at}")
        prepare(root, catalog_dir, command)
        edit = (root / "api/server/controllers/ModelController.js").read_text()
        assert run_child(root, catalog_dir, command, f"kill:{crash_at}").returncode == 137
        done = run_child(root, catalog_dir, command)
        assert done.returncode == 0, f"step {crash_at}: {done.stderr}"
        kept = [p.read_text() for p in root.rglob("*.dynmodels-edited")]
        assert edit in kept, f"crash at step {crash_at} lost the admin's edit"
        assert not [p for p in root.rglob("*.dynmodels-tmp")], f"crash at step {crash_at} left temporaries"
        if command.startswith("apply"):
            assert engine.verify(find_checkout(root), load_catalog(catalog_dir)).ok
        else:
            assert not (root / ".librechat-dynmodels").exists()


def test_rollback_on_a_disk_that_fills_at_any_write_step_keeps_its_state_and_a_rerun_finishes(
    tmp_path: Path,
) -> None:
    total = steps_of(tmp_path, "rollback")
    for full_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"rollback-full-{full_at}")
        pristine = snapshot(root)
        prepare(root, catalog_dir, "rollback")
        done = run_child(root, catalog_dir, "rollback", f"full:{full_at}")
        assert done.returncode in (0, 1), done.stderr
        if done.returncode == 1:
            said = ("run rollback again", "nothing was rolled back", "cannot take the lock: No space left on device")
            assert any(what in done.stderr for what in said), done.stderr
            assert run_child(root, catalog_dir, "rollback").returncode == 0
        elif (root / ".librechat-dynmodels" / "lock").exists():  # rolled back, its lock not removed (and said so)
            assert run_child(root, catalog_dir, "rollback").returncode == 0  # the next run takes it over
        assert snapshot(root) == pristine, f"a full disk at step {full_at}: the rerun left a changed tree"


def test_apply_killed_at_any_write_step_is_undone_by_recover_or_complete(tmp_path: Path) -> None:
    total = steps_of(tmp_path, "apply")
    assert total >= 20  # each temporary file written, synced and renamed, each folder synced
    for crash_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"apply-{crash_at}")
        pristine = snapshot(root)
        assert run_child(root, catalog_dir, "apply", f"kill:{crash_at}").returncode == 137
        checkout, catalog = find_checkout(root), load_catalog(catalog_dir)
        interrupted = (root / ".librechat-dynmodels" / "journal.json").exists()
        if interrupted:
            with pytest.raises(InterruptedOperationError, match="run: librechat-dynmodels recover /"):
                engine.check(checkout, catalog)
        engine.recover(checkout)
        assert not [p for p in root.rglob("*.dynmodels-tmp")], f"crash at step {crash_at} left temporaries"
        if interrupted or snapshot(root) == pristine:
            assert snapshot(root) == pristine, f"crash at step {crash_at} left a changed tree"
            assert engine.apply(checkout, catalog).outcome == "applied"
        # else killed after its journal was cleared: the apply is whole
        assert engine.verify(checkout, catalog).ok, f"crash at step {crash_at}"


def test_rollback_killed_at_any_write_step_is_finished_by_the_next_command(tmp_path: Path) -> None:
    total = steps_of(tmp_path, "rollback")
    for crash_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"rollback-{crash_at}")
        pristine = snapshot(root)
        checkout, catalog = find_checkout(root), load_catalog(catalog_dir)
        engine.apply(checkout, catalog)
        assert run_child(root, catalog_dir, "rollback", f"kill:{crash_at}").returncode == 137
        engine.rollback(checkout, catalog)  # the next writing command finishes the job
        assert snapshot(root) == pristine, f"crash at write {crash_at} was not finished"


def test_recover_killed_at_any_write_step_is_finished_by_the_next_recover(tmp_path: Path) -> None:
    while_renaming = steps_of(tmp_path, "apply") - 6  # some targets renamed into place, others not

    def half_applied(name: str) -> tuple[Path, Path, dict[str, tuple[bytes, int]]]:
        root, catalog_dir = fresh(tmp_path, name)
        pristine = snapshot(root)
        assert run_child(root, catalog_dir, "apply", f"kill:{while_renaming}").returncode == 137
        assert (root / ".librechat-dynmodels" / "journal.json").exists()
        return root, catalog_dir, pristine

    root, catalog_dir, _ = half_applied("recover-count")
    total = int(run_child(root, catalog_dir, "recover").stdout.strip() or 0)
    assert total >= 5
    for crash_at in range(1, total + 1):
        root, catalog_dir, pristine = half_applied(f"recover-{crash_at}")
        assert run_child(root, catalog_dir, "recover", f"kill:{crash_at}").returncode == 137
        assert run_child(root, catalog_dir, "recover").returncode == 0
        assert snapshot(root) == pristine, f"recover killed at step {crash_at}, then run again, left a changed tree"


def test_apply_on_a_disk_that_fills_at_any_write_step_changes_nothing(tmp_path: Path) -> None:
    total = steps_of(tmp_path, "apply")
    for full_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"full-{full_at}")
        pristine = snapshot(root)
        done = run_child(root, catalog_dir, "apply", f"full:{full_at}")
        if done.returncode == 0:  # the step was the last folder sync, after every file was in place
            assert engine.verify(find_checkout(root), load_catalog(catalog_dir)).ok
            continue
        assert done.returncode == 1 and "No space left on device" in done.stderr, done.stderr
        assert snapshot(root) == pristine, f"a full disk at step {full_at} left a changed tree"


def test_apply_syncs_every_changed_file_in_one_pass_before_renaming_any(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from librechat_dynmodels import fsutil

    events: list[tuple[str, Path]] = []
    real_sync, real_replace = fsutil._fsync_file, os.replace

    def sync(name: str) -> None:
        events.append(("sync", Path(name).parent))
        real_sync(name)

    def replace(source: str, target: str) -> None:
        events.append(("rename", Path(target).parent))
        real_replace(source, target)

    monkeypatch.setattr(fsutil, "_fsync_file", sync)
    monkeypatch.setattr(fsutil.os, "replace", replace)
    engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    in_checkout = [kind for kind, folder in events if not {".git", ".librechat-dynmodels"} & set(folder.parts)]
    assert in_checkout == ["sync"] * 4 + ["rename"] * 4


def test_a_live_lock_makes_a_second_run_refuse(tree: Path, catalog_dir: Path) -> None:
    state = tree / ".librechat-dynmodels"
    state.mkdir()
    import socket

    (state / "lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    before = snapshot(tree)
    with pytest.raises(LockedError, match=rf"another librechat-dynmodels run \(pid {os.getpid()}\)"):
        engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    assert snapshot(tree) == before


def test_a_stale_lock_from_a_dead_process_is_recovered(tree: Path, catalog_dir: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    state = tree / ".librechat-dynmodels"
    state.mkdir()
    import socket

    (state / "lock").write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    assert engine.apply(find_checkout(tree), load_catalog(catalog_dir)).outcome == "applied"
    assert not (state / "lock").exists()


def test_a_lock_whose_pid_now_belongs_to_another_process_is_taken_over(tree: Path, catalog_dir: Path) -> None:
    import socket

    state = tree / ".librechat-dynmodels"
    state.mkdir()
    unrelated = os.getppid()  # alive, but started long before the lock's holder claims it did
    holder = {"pid": unrelated, "host": socket.gethostname(), "time": time.time() - 3600, "start": 1}
    (state / "lock").write_text(json.dumps(holder))
    assert engine.apply(find_checkout(tree), load_catalog(catalog_dir)).outcome == "applied"


def test_a_lock_from_another_host_is_kept_and_the_refusal_says_how_to_clear_it(tree: Path, catalog_dir: Path) -> None:
    state = tree / ".librechat-dynmodels"
    state.mkdir()
    holder = {"pid": 4242, "host": "other-container", "time": time.time() - 120, "start": 99}
    (state / "lock").write_text(json.dumps(holder))
    with pytest.raises(LockedError) as refused:
        engine.apply(find_checkout(tree), load_catalog(catalog_dir))
    message = refused.value.message
    assert "host other-container (pid 4242, 120 s ago)" in message
    assert f"remove {state / 'lock'}" in message
    assert json.loads((state / "lock").read_text()) == holder


SLOW_APPLY = textwrap.dedent(
    """
    import sys, time
    from librechat_dynmodels import engine, fsutil, cli
    real = fsutil._stage
    def slow(path, data, mode=None):
        time.sleep(0.4)
        return real(path, data, mode)
    fsutil._stage = slow
    sys.argv = ["librechat-dynmodels", *sys.argv[1:]]
    cli.main()
    """
)


def test_two_processes_applying_at_once_one_refuses(tree: Path, catalog_dir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=SRC)
    args = ["--json", "--patches", str(catalog_dir), "apply", str(tree)]
    first = subprocess.Popen([sys.executable, "-c", SLOW_APPLY, *args], env=env, stdout=subprocess.PIPE, text=True)
    lock = tree / ".librechat-dynmodels" / "lock"
    deadline = time.monotonic() + 20
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.exists(), "the first run never took the lock"
    second = subprocess.run(
        [sys.executable, "-m", "librechat_dynmodels", *args], env=env, capture_output=True, text=True, timeout=60
    )
    first_out, _ = first.communicate(timeout=60)
    assert first.returncode == 0 and json.loads(first_out)["data"]["outcome"] == "applied"
    assert second.returncode == 1
    assert json.loads(second.stdout)["errors"][0]["code"] == "locked"
    assert (tree / "api/server/controllers/ModelController.js").read_text() == PATCHED_CONTROLLER
