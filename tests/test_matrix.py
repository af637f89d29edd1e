from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import CONTROLLER, ROUTES, build_tree, librechat_files
from librechat_dynmodels.catalog import Catalog
from librechat_dynmodels.matrix import default_tags, release_key, run_matrix

SRC = str(Path(__file__).resolve().parent.parent / "src")
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True, capture_output=True
    )


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """v0.8.3 as the series expects; v0.8.4 with lines added above a hunk; v0.9.0 rewritten."""
    repo = build_tree(tmp_path / "repo", librechat_files("v0.8.3"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v0.8.3")
    git(repo, "tag", "v0.8.3")
    build_tree(
        repo,
        {
            "api/server/routes/models.js": "// new header\n" + ROUTES,
            "package.json": '{"name": "LibreChat", "version": "v0.8.4"}',
        },
    )
    git(repo, "commit", "-qam", "v0.8.4")
    git(repo, "tag", "v0.8.4")
    git(repo, "tag", "not-a-release")
    build_tree(repo, {"api/server/controllers/ModelController.js": CONTROLLER.replace("loadModels", "loadAll")})
    git(repo, "commit", "-qam", "v0.9.0")
    git(repo, "tag", "v0.9.0-rc1")
    return repo / ".git"


def test_release_tags_sort_with_rc_before_release() -> None:
    tags = ["v0.8.10", "v0.8.8-rc1", "v0.8.8", "v0.8.9-rc2", "v0.8.9-rc10"]
    assert sorted(tags, key=lambda t: release_key(t) or ()) == [
        "v0.8.8-rc1",
        "v0.8.8",
        "v0.8.9-rc2",
        "v0.8.9-rc10",
        "v0.8.10",
    ]
    assert release_key("not-a-release") is None


def test_default_tags_are_the_named_ones_plus_newer_releases(mirror: Path, catalog: Catalog) -> None:
    assert default_tags(mirror, catalog) == ["v0.8.3", "v0.8.4", "v0.9.0-rc1"]


def test_matrix_runs_every_step_and_reports_an_uncovered_release_as_a_finding(mirror: Path, catalog: Catalog) -> None:
    report = run_matrix(mirror, catalog)
    rows = {r.tag: r for r in report.rows}
    assert rows["v0.8.3"].ok and rows["v0.8.3"].hunks_exact == 5
    assert rows["v0.8.4"].ok and rows["v0.8.4"].hunks_offset == 1
    assert set(rows["v0.8.4"].steps.values()) == {"ok"}
    uncovered = rows["v0.9.0-rc1"]
    assert not uncovered.ok and uncovered.series is None
    assert uncovered.finding and "no series fits this checkout" in uncovered.finding
    assert report.summary == "2 of 3 releases pass every step; 1 without a fitting series"


def test_matrix_command_prints_one_row_per_tag_and_fails_on_a_finding(mirror: Path, catalog_dir: Path) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    result = CliRunner().invoke(app, ["--patches", str(catalog_dir), "matrix", "--git", str(mirror)])
    assert result.exit_code == 1
    assert "2 of 3 releases pass every step; 1 without a fitting series" in result.stdout
    assert [line.split()[0] for line in result.stdout.splitlines() if line.startswith("v0.")][:3] == [
        "v0.8.3",
        "v0.8.4",
        "v0.9.0-rc1",
    ]
    ok = CliRunner().invoke(app, ["--json", "--patches", str(catalog_dir), "matrix", "--git", str(mirror), "v0.8.4"])
    assert ok.exit_code == 0 and '"reapply": "ok"' in ok.stdout


def test_a_tag_missing_from_the_mirror_is_named_as_missing_not_as_unfitting(mirror: Path, catalog: Catalog) -> None:
    report = run_matrix(mirror, catalog, ["v9.9.9", "v0.8.3"])
    missing, present = report.rows
    assert (missing.tag, missing.in_mirror, missing.finding) == (
        "v9.9.9",
        False,
        "not a tag, branch or commit of the mirror",
    )
    assert missing.result == "not in the mirror" and present.ok
    assert report.summary == "1 of 2 releases pass every step; 0 without a fitting series; 1 not in the mirror (v9.9.9)"


def test_matrix_command_says_which_tag_is_missing(mirror: Path, catalog_dir: Path) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    result = CliRunner().invoke(app, ["--patches", str(catalog_dir), "matrix", "--git", str(mirror), "v9.9.9"])
    assert result.exit_code == 1 and result.stderr == "error: v9.9.9: not a tag, branch or commit of the mirror\n"
    assert "0 without a fitting series; 1 not in the mirror (v9.9.9)" in result.stdout


def test_matrix_names_a_mirror_that_is_missing_or_not_git(tmp_path: Path, catalog_dir: Path) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    (tmp_path / "plain").mkdir()
    for where, message in (("nonexistent", "no such git mirror"), ("plain", "not a git repository")):
        result = CliRunner().invoke(app, ["--patches", str(catalog_dir), "matrix", "--git", str(tmp_path / where)])
        assert result.exit_code == 2 and result.stderr.startswith(f"error: {tmp_path / where}: {message}")


def test_matrix_reports_each_release_and_step_as_it_goes(mirror: Path, catalog: Catalog) -> None:
    steps: list[str] = []
    run_matrix(mirror, catalog, ["v0.8.3", "v0.9.0-rc1"], on_step=steps.append)
    assert steps == [
        "v0.8.3 (1 of 2): export",
        *(f"v0.8.3 (1 of 2): {step}" for step in ("status", "check", "apply", "verify", "re-apply", "rollback")),
        "v0.9.0-rc1 (2 of 2): export",
        "v0.9.0-rc1 (2 of 2): status",
    ]


@pytest.mark.usefixtures("stderr_terminal")
def test_matrix_and_port_show_their_steps_on_stderr(mirror: Path, catalog_dir: Path) -> None:
    from typer.testing import CliRunner

    from librechat_dynmodels.cli import app

    result = CliRunner().invoke(app, ["--patches", str(catalog_dir), "matrix", "--git", str(mirror), "v0.8.3"])
    assert result.exit_code == 0
    for step in ("export", "check", "apply", "verify", "re-apply", "rollback"):
        assert f"matrix v0.8.3 (1 of 1): {step}" in result.stderr
    assert "matrix v0.8.3" not in result.stdout


# Runs the matrix in a child that signals itself: "held-SIGINT"/"held-SIGTERM" while the first apply writes its
# files (the signal is held until the apply is whole), "SIGTERM"/"SIGKILL" in the first release's status step.
MATRIX_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    from librechat_dynmodels import engine, fsutil
    from librechat_dynmodels.catalog import load_catalog
    from librechat_dynmodels.errors import DynModelsError
    from librechat_dynmodels.matrix import run_matrix
    mirror, catalog_dir, how = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's Ctrl-C, wherever the tests run
    applies, real_apply, real_sync, real_status = [], engine.apply, fsutil._fsync_file, engine.status
    def apply(*args, **kwargs):
        applies.append(1)
        return real_apply(*args, **kwargs)
    def sync(name):
        real_sync(name)
        if how.startswith("held-") and len(applies) == 1 and "ModelController" in name:
            os.kill(os.getpid(), getattr(signal, how[len("held-"):]))
    def status(*args, **kwargs):
        if not how.startswith("held-"):
            os.kill(os.getpid(), getattr(signal, how))
        return real_status(*args, **kwargs)
    engine.apply, engine.status, fsutil._fsync_file = apply, status, sync
    try:
        run_matrix(mirror, load_catalog(catalog_dir))
    except DynModelsError as error:
        print(f"refused ({error.code}): {error}")
        sys.exit(error.exit_code)
    finally:
        print(f"applies: {len(applies)}")
    """
)


def matrix_child(mirror: Path, catalog_dir: Path, how: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=SRC, TMPDIR=str(tmp))
    args = [sys.executable, "-c", MATRIX_CHILD, str(mirror), str(catalog_dir), how]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_while_the_matrix_applies_stops_it_once_the_apply_is_whole(
    mirror: Path, catalog_dir: Path, tmp_path: Path, signal_name: str
) -> None:
    done = matrix_child(mirror, catalog_dir, f"held-{signal_name}", tmp_path / "tmp")
    assert done.returncode == 130, done.stdout + done.stderr
    assert f"refused (interrupted): interrupted by {signal_name} at v0.8.3 (0 of 3 releases done" in done.stdout
    assert "applies: 1" in done.stdout
    assert not list((tmp_path / "tmp").iterdir())


def test_sigterm_between_steps_stops_the_matrix_and_removes_its_export(
    mirror: Path, catalog_dir: Path, tmp_path: Path
) -> None:
    done = matrix_child(mirror, catalog_dir, "SIGTERM", tmp_path / "tmp")
    assert done.returncode == 130, done.stdout + done.stderr
    assert "interrupted by SIGTERM at v0.8.3" in done.stdout and "applies: 0" in done.stdout
    assert not list((tmp_path / "tmp").iterdir())


def test_an_export_a_killed_matrix_left_is_removed_by_the_next_run(
    mirror: Path, catalog: Catalog, catalog_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    tmp = tmp_path / "tmp"
    killed = matrix_child(mirror, catalog_dir, "SIGKILL", tmp)
    assert killed.returncode == -9
    (left,) = tmp.iterdir()
    assert (left / "package.json").exists()
    someone_elses = tmp / "dynmodels-matrix-keep-me"
    someone_elses.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert run_matrix(mirror, catalog, ["v0.8.3"]).ok
    assert list(tmp.iterdir()) == [someone_elses]
