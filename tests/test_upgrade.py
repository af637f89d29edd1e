"""Commit-ish refs in matrix and port, port's native and claim rules, upgrade-catalog: on small mirrors made here."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import (
    CONTROLLER,
    build_tree,
    committed_tree,
    export,
    git,
    git_diff,
    librechat_files,
    snapshot,
    write_series,
)
from librechat_dynmodels.catalog import load_catalog
from librechat_dynmodels.checkout import find_checkout
from librechat_dynmodels.claims import check_claims
from librechat_dynmodels.cli import app
from librechat_dynmodels.errors import UsageError
from librechat_dynmodels.maintain import port
from librechat_dynmodels.matrix import run_matrix
from librechat_dynmodels.upgrade import default_refs, upgrade_catalog

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

CONTROLLER_PATH = "api/server/controllers/ModelController.js"
NATIVE_MARKER = {"api/server/services/Config/loadConfigModels.js": "createLoadConfigModels(getUserKeyValues)\n"}
# a change one line above the series' controller hunk: the hunk no longer applies as is, a merge takes it
MERGES = {CONTROLLER_PATH: CONTROLLER.replace("await loadDefaultModels(req);", "await loadDefaultModels(req, true);")}
# a change to the very words the series' controller hunk edits (after v0.8.4's): a conflict, even word by word
CONFLICTS = {CONTROLLER_PATH: MERGES[CONTROLLER_PATH].replace("  return config;\n", "  return { ...config };\n")}


def make_mirror(
    work: Path, main: dict[str, str] | None = None, native: bool = False, v084: dict[str, str] | None = None
) -> Path:
    """v0.8.3 as the test series expects it; v0.8.4 with a change a merge takes; the branch ``main`` one commit
    further with ``main`` (its package.json still says v0.8.4, as LibreChat's main says its last tag)."""
    extra = NATIVE_MARKER if native else {}
    repo = committed_tree(work, {**librechat_files("v0.8.3"), **extra})
    git(repo, "tag", "v0.8.3")
    build_tree(
        repo, {"package.json": '{"name": "LibreChat", "version": "v0.8.4"}', **(MERGES if v084 is None else v084)}
    )
    git(repo, "commit", "-qam", "v0.8.4")
    git(repo, "tag", "v0.8.4")
    git(repo, "branch", "-M", "main")
    build_tree(repo, main if main is not None else {"README.md": "main moves on\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "main")
    return repo / ".git"


def test_matrix_takes_a_branch_and_a_sha_and_records_the_commit_a_branch_resolved_to(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo", v084={})
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, releases=("v0.8.3",))
    head = git(tmp_path / "repo", "rev-parse", "main").strip()
    tagged = git(tmp_path / "repo", "rev-parse", "v0.8.3^{commit}").strip()

    report = run_matrix(mirror, load_catalog(catalog_dir), ["main", tagged, "v0.8.3"])

    branch, commit, tag = report.rows
    assert (branch.kind, branch.sha, branch.ok) == ("branch", head, True)
    assert branch.note == f"main is a branch, not a tag: its head moves; this run used {head[:12]}"
    assert (commit.kind, commit.ok, tag.kind, tag.note) == ("commit", True, "tag", None)
    result = CliRunner().invoke(app, ["--json", "--patches", str(catalog_dir), "matrix", "--git", str(mirror), "main"])
    assert result.exit_code == 0, result.stdout
    row = json.loads(result.stdout)["data"]["rows"][0]
    assert (row["tag"], row["kind"], row["sha"]) == ("main", "branch", head)


def test_port_refuses_a_pre_native_source_on_a_native_release_and_names_a_native_one(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo", native=True)
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    write_series(catalog_dir, "dynmodels-native-v0.8.3", releases=("v0.8.3",), native=True)
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")
    before = snapshot(root)

    with pytest.raises(UsageError, match=r"pre-native series \(native: false\).*--from dynmodels-native-v0.8.3"):
        port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)

    assert snapshot(root) == before and sorted(p.name for p in catalog_dir.iterdir()) == [
        "dynmodels-native-v0.8.3",
        "dynmodels-v0.8.3",
    ]
    report = port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-native-v0.8.3", mirror)
    assert report.new_series == "dynmodels-native-v0.8.4"  # native- kept in the default id
    assert load_catalog(catalog_dir).get("dynmodels-native-v0.8.4").native


def test_port_refuses_to_claim_a_release_the_new_series_does_not_apply_to(tmp_path: Path) -> None:
    mirror = make_mirror(
        tmp_path / "repo", main={CONTROLLER_PATH: MERGES[CONTROLLER_PATH].replace("(req)", "(req, res)")}
    )
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    root = export(mirror, "main", tmp_path / "main")

    # main says v0.8.4 in its package.json; the glue made on main does not apply to the tag v0.8.4
    with pytest.raises(UsageError, match=r"would claim v0.8.4, but it does not apply to v0.8.4 .*--release"):
        port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)
    assert not (catalog_dir / "dynmodels-v0.8.4").exists()

    report = port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror, release="main")
    assert (report.new_series, report.release) == ("dynmodels-main", "main")
    assert load_catalog(catalog_dir).get("dynmodels-main").librechat == ("main",)
    assert any("main is a branch, not a tag" in note for note in report.notes)


def test_check_claims_names_a_second_claim_that_does_not_apply(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo")
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    assert check_claims(load_catalog(catalog_dir), mirror) == ()
    other = write_series(catalog_dir, "dynmodels-other", releases=("v0.8.3",))
    (other / "0001-backend.patch").write_text(
        (other / "0001-backend.patch").read_text().replace("loadDefaultModels(req);", "loadDefaultModels(req, 1);")
    )

    problems = check_claims(load_catalog(catalog_dir), mirror)

    assert [(p.release, p.series) for p in problems] == [("v0.8.3", "dynmodels-other")]
    assert problems[0].problem.startswith(f"{CONTROLLER_PATH} hunk ")


def test_upgrade_ports_a_new_release_claims_main_where_it_fits_and_writes_a_copy(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo")
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    before = snapshot(catalog_dir)
    assert default_refs(mirror, load_catalog(catalog_dir)) == ["v0.8.4", "main"]

    report = upgrade_catalog(mirror, load_catalog(catalog_dir), catalog_out=tmp_path / "out")

    release, main = report.rows
    assert (release.outcome, release.series, release.source) == ("ported", "dynmodels-v0.8.4", "dynmodels-v0.8.3")
    assert release.matrix is not None and release.matrix.ok
    assert (main.outcome, main.series, main.kind) == ("fits", "dynmodels-v0.8.4", "branch")
    assert report.ok and report.written == ("dynmodels-v0.8.4",)
    assert snapshot(catalog_dir) == before  # the copy, not the catalog
    upgraded = load_catalog(tmp_path / "out")
    assert upgraded.get("dynmodels-v0.8.4").librechat == ("v0.8.4", "main")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left
    matrix = run_matrix(mirror, upgraded, ["v0.8.3", "v0.8.4", "main"])
    assert matrix.ok


def test_upgrade_leaves_out_a_conflicted_port_and_reports_its_file_line_and_hunk(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo", main=CONFLICTS)
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    report_md = tmp_path / "report.md"

    result = CliRunner().invoke(
        app,
        ["--json", "--patches", str(catalog_dir), "upgrade-catalog", "--git", str(mirror), "--report", str(report_md)],
    )

    assert result.exit_code == 1, result.stdout
    data = json.loads(result.stdout)["data"]
    release, main = data["rows"]
    assert (release["outcome"], main["outcome"], main["series"]) == ("ported", "needs a human", "dynmodels-main")
    assert main["needs"] == [
        {
            "path": CONTROLLER_PATH,
            "line": 12,
            "what": "1 conflict(s), source hunk 2 (@@ -8,7 +9,7 @@) in 0001-backend.patch",
        }
    ]
    # in place: the ready series is in the catalog, the conflicted one is not, nothing hidden is left
    assert sorted(load_catalog(catalog_dir).series) == ["dynmodels-v0.8.3", "dynmodels-v0.8.4"]
    assert [p.name for p in catalog_dir.iterdir() if p.name.startswith(".")] == []
    text = report_md.read_text()
    assert "## Needs a human" in text and f"- main: `{CONTROLLER_PATH}` line 12: 1 conflict(s)" in text
    assert "main is a branch, not a tag" in text


def test_upgrade_refuses_an_existing_catalog_out_before_it_reads_the_mirror(tmp_path: Path) -> None:
    mirror = make_mirror(tmp_path / "repo")
    catalog_dir = tmp_path / "catalog"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    (tmp_path / "out").mkdir()
    args = [
        "--patches",
        str(catalog_dir),
        "upgrade-catalog",
        "--git",
        str(mirror),
        "--catalog-out",
        str(tmp_path / "out"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "--catalog-out must name a folder that does not exist yet" in result.stderr
    missing = CliRunner().invoke(app, ["--patches", str(catalog_dir), "upgrade-catalog", "--git", str(mirror), "v9"])
    assert missing.exit_code == 1 and "v9 is not a tag, branch or commit of the mirror" in missing.stderr


def test_port_merges_word_by_word_where_the_release_rewrote_the_line_the_series_edits(tmp_path: Path) -> None:
    """v0.8.8-rc1 put the two loads in a Promise.all on the lines where the series renames one call."""
    rewritten = CONTROLLER.replace(
        "  const config = await loadDefaultModels(req);\n",
        "  const [config] = await Promise.all([\n    loadDefaultModels(req),\n  ]);\n",
    )
    mirror = make_mirror(tmp_path / "repo", v084={CONTROLLER_PATH: rewritten})
    catalog_dir = tmp_path / "catalog"
    renamed = CONTROLLER.replace("await loadDefaultModels(req);", "await loadSharedModels(req);")
    write_series(
        catalog_dir,
        "dynmodels-v0.8.3",
        patches={"0001-backend.patch": ("backend", git_diff({CONTROLLER_PATH: (CONTROLLER, renamed)}))},
    )
    root = export(mirror, "v0.8.4", tmp_path / "v0.8.4")

    report = port(find_checkout(root), load_catalog(catalog_dir), "dynmodels-v0.8.3", mirror)

    assert [f.result for f in report.files] == ["merged"] and report.needs_human == ()
    assert (root / CONTROLLER_PATH).read_text() == rewritten.replace(
        "loadDefaultModels(req),", "loadSharedModels(req),"
    )


def _workflow_job(name: str) -> dict[str, object]:
    import yaml

    path = Path(__file__).resolve().parent.parent / "examples" / "ci" / "librechat-dynmodels-check.yml"
    job = yaml.safe_load(path.read_text())["jobs"][name]
    assert isinstance(job, dict)
    return job


def test_the_ci_upgrade_job_opens_its_pull_request_in_this_repository_only() -> None:
    job = _workflow_job("upgrade")
    steps = {step.get("name"): step.get("run", "") for step in job["steps"]}  # type: ignore[attr-defined]
    opening = steps["Open a pull request in this repository"]
    assert (
        'gh pr create --repo "$GITHUB_REPOSITORY"' in opening
        and '--body-file "$RUNNER_TEMP/upgrade-report.md"' in opening
    )
    assert "git push origin" in opening and "UPSTREAM" not in opening.replace("never $UPSTREAM", "")
    assert "gh pr comment" not in str(job) and "gh issue" not in str(job)
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "upgrade-catalog" in steps["Upgrade the catalog"] and "$TAGS main" in steps["Upgrade the catalog"]


@pytest.mark.skipif(shutil.which("bash") is None, reason="GitHub runs `run:` steps with bash")
def test_the_ci_upgrade_step_writes_the_new_catalog_and_annotates_with_the_conflicts_line(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    upstream = make_mirror(tmp_path / "upstream", main=CONFLICTS).parent
    catalog_dir = tmp_path / "repo" / "patches"
    write_series(catalog_dir, "dynmodels-v0.8.3", releases=("v0.8.3",))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "librechat-dynmodels"
    src = Path(__file__).resolve().parent.parent / "src"
    tool.write_text(f'#!/bin/sh\nPYTHONPATH="{src}" exec "{sys.executable}" -m librechat_dynmodels "$@"\n')
    tool.chmod(0o755)
    runner = tmp_path / "runner"
    runner.mkdir()
    env = dict(
        os.environ,
        PATH=os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        UPSTREAM=f"file://{upstream}",
        RUNNER_TEMP=str(runner),
        CATALOG="patches",
        TAGS="v0.8.4",
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
    )
    steps = {step.get("name"): step["run"] for step in _workflow_job("upgrade")["steps"] if "run" in step}  # type: ignore[attr-defined]
    for name in ("Mirror upstream (tags and main)", "Upgrade the catalog"):
        done = subprocess.run(
            ["bash", "-e", "-c", steps[name]],
            cwd=tmp_path / "repo",
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    assert (
        f"::error file={CONTROLLER_PATH},line=12,title=librechat-dynmodels upgrade main::1 conflict(s)" in done.stdout
    )
    assert (tmp_path / "output").read_text() == "code=1\n"
    assert "## Needs a human" in (tmp_path / "summary").read_text()
    assert sorted(load_catalog(catalog_dir).series) == ["dynmodels-v0.8.3", "dynmodels-v0.8.4"]
