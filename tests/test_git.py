"""Git is optional: a work tree gets extra reports, and nothing breaks without git at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from librechat_dynmodels import engine
from librechat_dynmodels.catalog import Catalog
from librechat_dynmodels.checkout import Checkout

SRC = str(Path(__file__).resolve().parent.parent / "src")
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


@needs_git
def test_status_reports_uncommitted_edits_and_git_status_shows_only_patched_files(
    checkout: Checkout, catalog: Catalog
) -> None:
    root = checkout.root
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    (root / "api/server/routes/models.js").write_text((root / "api/server/routes/models.js").read_text() + "\n")
    report = engine.status(checkout, catalog)
    edits = {f.path: f.uncommitted for f in report.files}
    assert edits["api/server/routes/models.js"] is True
    assert edits["api/server/controllers/ModelController.js"] is False
    git(root, "checkout", "--", ".")
    engine.apply(checkout, catalog)
    changed = sorted(line[3:] for line in git(root, "status", "--porcelain", "-uall").splitlines())
    assert changed == [
        "api/server/controllers/ModelController.js",
        "api/server/routes/models.js",
        "api/server/services/UserModels/index.js",
        "client/src/hooks/Input/useUserKey.ts",
    ]


def test_everything_works_without_a_git_binary(tree: Path, catalog_dir: Path) -> None:
    (tree / ".git").mkdir()  # looks like a work tree, but there is no git to ask
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT")}
    env.update(PATH="/nonexistent", PYTHONPATH=SRC)
    for command in ("status", "apply", "verify", "rollback"):
        done = subprocess.run(
            [sys.executable, "-m", "librechat_dynmodels", "--json", "--patches", str(catalog_dir), command, str(tree)],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        data = json.loads(done.stdout)["data"]
        if command == "status":
            assert data["git_worktree"] is True and {f["uncommitted"] for f in data["files"]} == {None}


@needs_git
def test_apply_over_uncommitted_git_edits_names_those_files_in_one_line(tree: Path, catalog_dir: Path) -> None:
    from typer.testing import CliRunner

    from conftest import snapshot
    from librechat_dynmodels.cli import app

    git(tree, "init", "-q")
    git(tree, "add", "-A")
    git(tree, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "base")
    routes = tree / "api/server/routes/models.js"
    routes.write_text(routes.read_text() + "// my local change\n")
    edited = snapshot(tree)
    runner = CliRunner()
    common = ["--patches", str(catalog_dir)]
    dry = runner.invoke(app, [*common, "apply", "--dry-run", str(tree)])
    assert "uncommitted git edits in api/server/routes/models.js would be kept under the patches" in dry.stdout
    applied = runner.invoke(app, [*common, "apply", str(tree)])
    assert applied.exit_code == 0
    lines = [line for line in applied.stdout.splitlines() if line.startswith("uncommitted")]
    assert lines == [
        "uncommitted git edits in api/server/routes/models.js are kept under the patches "
        "(rollback restores them byte for byte)"
    ]
    assert runner.invoke(app, [*common, "rollback", str(tree)]).exit_code == 0
    assert snapshot(tree) == edited
    git(tree, "checkout", "--", ".")
    data = json.loads(runner.invoke(app, [*common, "--json", "apply", str(tree)]).stdout)
    assert [f["uncommitted"] for f in data["data"]["files"]] == [False, False, False, False]
