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

# Runs one engine command in a child that dies (os._exit, no cleanup at all) at its k-th file write.
CRASHER = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from librechat_dynmodels import engine, fsutil, state, checkout as co
    from librechat_dynmodels.catalog import load_catalog
    root, catalog_dir, command, crash_at = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    real = fsutil.atomic_write
    count = 0
    def crashing(path, data, mode=None):
        global count
        count += 1
        if count == crash_at:
            os._exit(137)
        real(path, data, mode)
    for module in (engine, state, co):
        module.atomic_write = crashing
    getattr(engine, command)(co.find_checkout(root), load_catalog(catalog_dir))
    print(count)
    """
)


def run_child(root: Path, catalog_dir: Path, command: str, crash_at: int) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [sys.executable, "-c", CRASHER, str(root), str(catalog_dir), command, str(crash_at)],
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


def writes_of(tmp_path: Path, command: str) -> int:
    root, catalog_dir = fresh(tmp_path, f"count-{command}")
    if command == "rollback":
        engine.apply(find_checkout(root), load_catalog(catalog_dir))
    done = run_child(root, catalog_dir, command, crash_at=10_000)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_apply_killed_at_any_write_recovers_to_pristine(tmp_path: Path) -> None:
    total = writes_of(tmp_path, "apply")
    assert total >= 8  # journal, backups, manifest, journal, every target
    for crash_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"apply-{crash_at}")
        pristine = snapshot(root)
        assert run_child(root, catalog_dir, "apply", crash_at).returncode == 137
        checkout, catalog = find_checkout(root), load_catalog(catalog_dir)
        if (root / ".librechat-dynmodels" / "journal.json").exists():
            with pytest.raises(InterruptedOperationError, match="run 'librechat-dynmodels recover'"):
                engine.check(checkout, catalog)
        engine.recover(checkout)
        assert snapshot(root) == pristine, f"crash at write {crash_at} left a changed tree"
        assert engine.apply(checkout, catalog).outcome == "applied"
        assert engine.verify(checkout, catalog).ok


def test_rollback_killed_at_any_write_is_finished_by_the_next_command(tmp_path: Path) -> None:
    total = writes_of(tmp_path, "rollback")
    for crash_at in range(1, total + 1):
        root, catalog_dir = fresh(tmp_path, f"rollback-{crash_at}")
        pristine = snapshot(root)
        checkout, catalog = find_checkout(root), load_catalog(catalog_dir)
        engine.apply(checkout, catalog)
        assert run_child(root, catalog_dir, "rollback", crash_at).returncode == 137
        engine.rollback(checkout, catalog)  # the next writing command finishes the job
        assert snapshot(root) == pristine, f"crash at write {crash_at} was not finished"


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
    real = fsutil.atomic_write
    def slow(path, data, mode=None):
        time.sleep(0.4)
        real(path, data, mode)
    engine.atomic_write = slow
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
