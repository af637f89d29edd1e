"""The command-line contract: exit codes, one-line errors, the JSON envelope."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import HOOK, snapshot, write_series
from librechat_dynmodels import __version__, engine, fsutil
from librechat_dynmodels.cli import app

SRC = str(Path(__file__).resolve().parent.parent / "src")
runner = CliRunner()


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, list(args), env=env)


def envelope(*args: str) -> dict[str, Any]:
    result = run("--json", *args)
    data = json.loads(result.stdout)
    assert data["exit_code"] == result.exit_code
    return data


def test_version_and_help_document_the_exit_codes() -> None:
    assert run("--version").stdout.startswith("librechat-dynmodels ")
    help_text = run("--help").stdout
    assert "Exit codes: 0 success; 1 expected failure" in help_text and "130 interrupted" in help_text


def test_json_envelope_has_the_stable_shape(tree: Path, catalog_dir: Path) -> None:
    data = envelope("--patches", str(catalog_dir), "status", str(tree))
    assert list(data) == ["schema_version", "command", "status", "exit_code", "data", "errors"]
    assert (data["schema_version"], data["command"], data["status"], data["errors"]) == (1, "status", "ok", [])
    assert data["data"]["librechat_version"] == "v0.8.3" and data["data"]["native_support"] is False


def test_global_options_work_after_the_command_too(tree: Path, catalog_dir: Path) -> None:
    result = run("check", str(tree), "--json", "--patches", str(catalog_dir))
    assert result.exit_code == 0 and json.loads(result.stdout)["data"]["ok"] is True


@pytest.mark.parametrize("command", [("apply",), ("apply", "--dry-run"), ("check",)])
def test_an_out_of_range_fuzz_is_a_usage_error_even_on_an_applied_checkout(
    tree: Path, catalog_dir: Path, command: tuple[str, ...]
) -> None:
    common = ("--patches", str(catalog_dir))
    assert run(*common, "apply", str(tree)).exit_code == 0
    applied = snapshot(tree)
    refused = run(*common, *command, "--fuzz", "5", str(tree))
    assert refused.exit_code == 2 and "--fuzz must be between 0 and 2 (got 5)" in refused.stderr
    assert refused.stderr.count("\n") == 1 and snapshot(tree) == applied


def test_full_cycle_exit_codes(tree: Path, catalog_dir: Path) -> None:
    before = snapshot(tree)
    common = ("--patches", str(catalog_dir))
    assert run(*common, "check", str(tree)).exit_code == 0
    applied = run(*common, "apply", str(tree))
    assert applied.exit_code == 0 and f" rollback {tree}\n" in applied.stdout
    again = run(*common, "apply", str(tree))
    assert again.exit_code == 0 and "already applied" in again.stdout
    assert run(*common, "verify", str(tree)).exit_code == 0
    (tree / "api/server/routes/models.js").write_text("edited\n")
    drift = envelope(*common, "verify", str(tree))
    assert drift["exit_code"] == 1 and drift["errors"][0] == {
        "code": "drifted",
        "message": "drifted since apply",
        "path": "api/server/routes/models.js",
    }
    refused = run(*common, "rollback", str(tree))
    assert refused.exit_code == 1 and refused.stderr.count("\n") == 1 and "rollback --force" in refused.stderr
    assert run(*common, "rollback", "--force", str(tree)).exit_code == 0
    assert (tree / "api/server/routes/models.js.dynmodels-edited").read_text() == "edited\n"
    (tree / "api/server/routes/models.js.dynmodels-edited").unlink()
    assert snapshot(tree) == before


def test_check_that_fails_exits_1_with_the_hunk_in_errors(tree: Path, catalog_dir: Path) -> None:
    (tree / "client/src/hooks/Input/useUserKey.ts").write_text(HOOK.replace("name: endpoint", "name"))
    data = envelope("--patches", str(catalog_dir), "check", str(tree))
    assert data["exit_code"] == 1 and data["status"] == "failed"
    assert data["errors"][0]["code"] == "patch_failed"
    assert data["errors"][0]["path"] == "client/src/hooks/Input/useUserKey.ts"
    assert "fails at line 5" in data["errors"][0]["message"]


def test_not_a_checkout_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = run("status", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "not a LibreChat checkout: missing package.json named 'LibreChat'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("args", [("check", "--fuzz", "3"), ("apply", "--bogus"), ("nosuchcommand",)])
def test_usage_errors_exit_2(tree: Path, catalog_dir: Path, args: tuple[str, ...]) -> None:
    assert run("--patches", str(catalog_dir), *args[:1], str(tree), *args[1:]).exit_code == 2


def test_unknown_component_is_a_usage_error(tree: Path, catalog_dir: Path) -> None:
    result = run("--patches", str(catalog_dir), "apply", str(tree), "--component", "server")
    assert result.exit_code == 2 and "unknown component 'server'" in result.stderr


def test_internal_error_exits_3_with_a_log(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "check", broken)
    result = run("--patches", str(catalog_dir), "check", str(tree), env={"TMPDIR": str(tmp_path)})
    assert result.exit_code == 3
    assert "internal error: RuntimeError: boom; please report it with the log at" in result.stderr
    log = Path(result.stderr.rsplit("log at ", 1)[1].strip())
    assert "Traceback" in log.read_text() and "boom" in log.read_text()


@pytest.mark.parametrize(
    ("errno_name", "text"),
    [("ENOSPC", "No space left on device"), ("ENAMETOOLONG", "File name too long"), ("ELOOP", "Too many levels")],
)
def test_a_file_system_refusal_is_one_line_and_exit_1_not_a_traceback(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, errno_name: str, text: str
) -> None:
    import errno

    def refused(*_: object, **__: object) -> None:
        code = getattr(errno, errno_name)
        raise OSError(code, os.strerror(code), str(tree / "api" / "x.js"))

    monkeypatch.setattr(engine, "check", refused)
    result = run("--patches", str(catalog_dir), "--json", "check", str(tree))
    assert result.exit_code == 1
    envelope = json.loads(result.stdout)
    assert envelope["errors"][0]["code"] == "file_access"
    assert text in envelope["errors"][0]["message"] and "Traceback" not in result.stdout + result.stderr


def test_interrupt_exits_130_and_leaves_nothing_half_done(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tree)
    real = fsutil._stage
    calls = {"n": 0}

    def interrupted(path: Path, data: bytes, mode: int | None = None) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(path, data, mode)

    monkeypatch.setattr(fsutil, "_stage", interrupted)
    result = run("--patches", str(catalog_dir), "apply", str(tree))
    assert result.exit_code == 130
    assert snapshot(tree) == before
    calls["n"] = 0
    result = run("--patches", str(catalog_dir), "--json", "apply", str(tree))
    assert result.exit_code == 130
    assert json.loads(result.stdout)["errors"][0]["code"] == "interrupted"


def test_incomplete_rollback_exits_4_and_a_rerun_finishes(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tree)
    assert run("--patches", str(catalog_dir), "apply", str(tree)).exit_code == 0
    real = fsutil._stage
    calls = {"n": 0}

    def failing(path: Path, data: bytes, mode: int | None = None) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, data, mode)

    monkeypatch.setattr(fsutil, "_stage", failing)
    result = run("--patches", str(catalog_dir), "rollback", str(tree))
    assert result.exit_code == 4 and "state kept" in result.stderr
    assert (tree / ".librechat-dynmodels" / "manifest.json").exists()
    monkeypatch.setattr(fsutil, "_stage", real)
    assert run("--patches", str(catalog_dir), "rollback", str(tree)).exit_code == 0
    assert snapshot(tree) == before


def test_list_shows_series_releases_and_components(catalog_dir: Path) -> None:
    result = run("--patches", str(catalog_dir), "list")
    assert result.exit_code == 0
    assert "dynmodels-test" in result.stdout and "backend, client" in result.stdout
    write_series(catalog_dir, "dynmodels-older", releases=("v0.8.10", "v0.7.9"))
    assert envelope("--patches", str(catalog_dir), "list")["data"]["releases"] == ["v0.7.9", "v0.8.3", "v0.8.10"]


def test_checkout_from_environment_variable(tree: Path, catalog_dir: Path) -> None:
    result = run("--patches", str(catalog_dir), "--json", "status", env={"LIBRECHAT_DIR": str(tree)})
    assert json.loads(result.stdout)["data"]["root"] == str(tree.resolve())


def test_help_and_check_import_neither_gitpython_nor_rich(tree: Path, catalog_dir: Path) -> None:
    probe = (
        "import sys\n"
        "from librechat_dynmodels.cli import app\n"
        "for args in (['--help'], ['--patches', sys.argv[2], 'check', sys.argv[1]]):\n"
        "    try:\n"
        "        app(args, prog_name='x')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('git' in sys.modules, 'rich' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tree), str(catalog_dir)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=SRC, CI="true"),
    )
    assert done.stderr.strip().splitlines()[-1] == "False False", done.stderr


def test_a_series_forced_onto_a_release_it_does_not_name_says_so(tree: Path, catalog_dir: Path) -> None:
    write_series(catalog_dir, "dynmodels-other", releases=("v0.7.0",))
    forced = run("--patches", str(catalog_dir), "--no-color", "check", str(tree), "--series", "dynmodels-other")
    assert forced.exit_code == 0
    assert "series: dynmodels-other (chosen by --series; 5 of 5 hunks match); it does not name this release" in (
        forced.stdout
    )
    named = run("--patches", str(catalog_dir), "--no-color", "check", str(tree), "--series", "dynmodels-test")
    assert "does not name this release" not in named.stdout


@pytest.mark.usefixtures("stderr_terminal")
def test_progress_goes_to_stderr_on_a_terminal_and_never_to_stdout(tree: Path, catalog_dir: Path) -> None:
    common = ("--patches", str(catalog_dir))
    applied = run(*common, "apply", str(tree))
    assert applied.exit_code == 0 and "applying api/server/routes/models.js" in applied.stderr
    assert "applying" not in applied.stdout and "\x1b" not in applied.stdout
    for quiet in ("-q", "--json"):
        rolled = run(*common, quiet, "rollback", str(tree))
        assert rolled.exit_code == 0 and rolled.stderr == "", quiet
        run(*common, "-q", "apply", str(tree))


def test_no_progress_when_stderr_is_not_a_terminal(tree: Path, catalog_dir: Path) -> None:
    applied = run("--patches", str(catalog_dir), "apply", str(tree))
    assert applied.exit_code == 0 and applied.stderr == ""


def test_undo_hint_names_the_program_that_ran_and_the_checkout_quoted(tmp_path: Path, catalog_dir: Path) -> None:
    """Installed in a venv that is not on PATH (the post-install scripts' case): the hint runs as printed."""
    from conftest import build_tree, librechat_files

    root = build_tree(tmp_path / "Libre Chat", librechat_files())
    before = snapshot(root)
    venv_bin = tmp_path / "venv bin"
    venv_bin.mkdir()
    script = venv_bin / "librechat-dynmodels"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom librechat_dynmodels.cli import main\nsys.exit(main())\n")
    script.chmod(0o755)
    env = dict(os.environ, PYTHONPATH=SRC, PATH="/usr/bin:/bin", CI="true")
    done = subprocess.run(
        [str(script), "--patches", str(catalog_dir), "apply", str(root)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    hint = next(line for line in done.stdout.splitlines() if line.startswith("undo with: "))
    assert hint == f"undo with: '{script}' --patches {catalog_dir} rollback '{root}'"
    undo = subprocess.run(["sh", "-c", hint.removeprefix("undo with: ")], cwd=tmp_path, capture_output=True, env=env)
    assert undo.returncode == 0, undo.stderr
    assert snapshot(root) == before


def test_the_program_named_in_hints_is_the_one_that_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from librechat_dynmodels.cli import program_command

    on_path = tmp_path / "bin" / "librechat-dynmodels"
    on_path.parent.mkdir()
    on_path.write_text("#!/bin/sh\n")
    on_path.chmod(0o755)
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.setattr(sys, "argv", [str(on_path), "apply"])
    assert program_command() == "librechat-dynmodels"
    monkeypatch.setattr(sys, "argv", ["/srv/librechat-dynmodels/src/librechat_dynmodels/__main__.py", "apply"])
    assert program_command(Path("my patches")) == (
        f"{sys.executable} -m librechat_dynmodels --patches '{Path('my patches').resolve()}'"
    )


COMMANDS = ("list", "status", "check", "apply", "verify", "rollback", "recover", "doctor", "matrix", "refresh", "port")


def test_dash_h_is_help_for_the_tool_and_every_command() -> None:
    top = run("-h")
    assert top.exit_code == 0 and "Commands:" in top.stdout and "-h, --help" in top.stdout
    for command in COMMANDS:
        result = run(command, "-h")
        assert result.exit_code == 0 and result.stdout.split()[:3] == ["Usage:", "root", command], command


def test_command_help_lists_the_global_options_that_work_after_the_command_name() -> None:
    for command in COMMANDS:
        help_text = run(command, "--help").stdout
        section = help_text.split("Global options (before or after the command name):\n", 1)[1]
        for option in ("--json", "-v, --verbose", "-q, --quiet", "--no-color", "--patches"):
            assert option in section, (command, option)
        assert "--version" not in section and "--install-completion" not in section


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (("apply", "--bogus"), "apply", "No such option: --bogus"),
        (("check", "--fuzz", "x"), "check", "Invalid value for '--fuzz': 'x' is not a valid int."),
        (("nosuchcommand",), None, "No such command 'nosuchcommand'."),
        ((), None, "Missing command."),
    ],
)
def test_a_usage_error_with_json_is_an_envelope(args: tuple[str, ...], command: str | None, message: str) -> None:
    for json_first in (True, False):
        result = run("--json", *args) if json_first else run(*args, "--json")
        assert result.exit_code == 2
        assert json.loads(result.stdout) == {
            "schema_version": 1,
            "command": command,
            "status": "error",
            "exit_code": 2,
            "data": None,
            "errors": [{"code": "usage", "message": message, "path": None}],
        }


def test_shell_completion_is_offered_for_commands_components_and_series(catalog_dir: Path) -> None:
    assert "--install-completion" in run("--help").stdout

    def complete(words: str) -> list[str]:
        env = {"_LIBRECHAT_DYNMODELS_COMPLETE": "complete_bash", "COMP_WORDS": words}
        env["COMP_CWORD"] = str(len(words.split()) - 1)
        result = runner.invoke(app, [], env=env, prog_name="librechat-dynmodels")
        assert result.exit_code == 0, result.output
        return result.stdout.split()

    assert complete("librechat-dynmodels ch") == ["check"]
    assert complete("librechat-dynmodels apply --component d") == ["data-provider"]
    assert complete(f"librechat-dynmodels check --patches {catalog_dir} --series dynmodels-") == ["dynmodels-test"]


def test_version_names_the_catalog_its_series_count_and_newest_release(catalog_dir: Path) -> None:
    write_series(catalog_dir, "dynmodels-other", releases=("v0.8.10", "v0.8.4"))
    for args in (("--patches", str(catalog_dir), "--version"), ("--version", "--patches", str(catalog_dir))):
        result = run(*args)
        assert result.exit_code == 0
        assert result.stdout.splitlines() == [
            f"librechat-dynmodels {__version__}",
            f"catalog: {catalog_dir} (2 series; LibreChat v0.8.3 to v0.8.10)",
        ]
    shipped = run("--version").stdout.splitlines()[1]
    assert shipped.startswith("catalog: ") and " series; LibreChat v0.7.5 to " in shipped


def test_a_finished_apply_is_reported_whole_when_stdout_cannot_encode_the_checkout_path(
    tmp_path: Path, catalog_dir: Path
) -> None:
    """PYTHONIOENCODING=ascii (or a strict UTF-8 stdout and a file name that is not UTF-8): the output
    replaces what it cannot encode instead of ending a complete apply in a traceback and exit 1."""
    from conftest import build_tree, librechat_files

    def tool(root: Path | bytes, *args: str, encoding: str) -> subprocess.CompletedProcess[bytes]:
        env = dict(os.environ, PYTHONPATH=SRC, PYTHONIOENCODING=encoding, CI="true")
        command = [sys.executable, "-m", "librechat_dynmodels", "--patches", str(catalog_dir), *args]
        return subprocess.run([*command, os.fsdecode(root)], capture_output=True, env=env, cwd=tmp_path)

    accented = build_tree(tmp_path / "Libré", librechat_files())
    applied = tool(accented, "apply", encoding="ascii")
    assert applied.returncode == 0, applied.stderr
    assert b"Traceback" not in applied.stderr and applied.stderr == b""
    assert f"undo with: {sys.executable} -m librechat_dynmodels".encode() in applied.stdout
    assert rb"rollback '" + str(tmp_path).encode() + rb"/Libr\xe9'" in applied.stdout
    assert tool(accented, "rollback", encoding="ascii").returncode == 0

    raw = os.fsencode(tmp_path) + b"/Libr\xe9-latin1"
    try:
        os.mkdir(raw)
    except OSError:
        pytest.skip("this file system takes only UTF-8 names")
    latin1 = build_tree(Path(os.fsdecode(raw)), librechat_files())
    before = snapshot(latin1)
    applied = tool(raw, "apply", encoding="utf-8")
    assert applied.returncode == 0, applied.stderr
    hint = next(line for line in applied.stdout.splitlines() if line.startswith(b"undo with: "))
    assert hint.endswith(b"/Libr\xe9-latin1'")  # the real bytes of the name: the hint runs as printed
    undo = subprocess.run([b"sh", b"-c", hint.removeprefix(b"undo with: ")], capture_output=True, env=os.environ)
    assert undo.returncode == 0, undo.stderr
    assert snapshot(latin1) == before


@pytest.mark.parametrize("unbuffered", [False, True])
def test_ctrl_c_while_a_finished_apply_writes_its_envelope_to_a_slow_pipe_still_reports_it_whole(
    tmp_path: Path, unbuffered: bool
) -> None:
    """The envelope is larger than the pipe: the tool is blocked writing it when Ctrl-C comes. The apply is
    complete, so the report is too: exit 0 and the whole envelope, not 130 and half of one (nor, with
    PYTHONUNBUFFERED as images and CI runners set it, exit 0 and the first 8 KiB)."""
    import signal

    from conftest import build_tree, git_diff, librechat_files

    fcntl = pytest.importorskip("fcntl")  # POSIX pipes and signals
    original = "".join(f"const line{n} = {n};\n" for n in range(2400))
    patched = "".join(f"const line{n} = {n if n % 8 else repr(f'patched {n}')};\n" for n in range(2400))
    big = "api/server/big.js"
    tree = build_tree(tmp_path / "librechat", {**librechat_files(), big: original})
    write_series(
        tmp_path / "catalog", patches={"0001-backend.patch": ("backend", git_diff({big: (original, patched)}))}
    )
    read_end, write_end = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: a pipe of one page; elsewhere the 120 KB envelope fills one
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(PYTHONPATH=SRC, CI="true", **({"PYTHONUNBUFFERED": "1"} if unbuffered else {}))
    command = [sys.executable, "-m", "librechat_dynmodels", "--patches", str(tmp_path / "catalog")]
    child = subprocess.Popen(
        [*command, "--json", "apply", str(tree)],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        # Python's own Ctrl-C handler in the child, whatever this test run inherited (SIGINT ignored under nohup)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        first = pipe.read(1)  # the apply is done and its envelope is being written: the child waits for us
        child.send_signal(signal.SIGINT)
        rest = pipe.read()
    stderr = child.stderr.read() if child.stderr else b""
    assert child.wait() == 0, stderr
    data = json.loads(first + rest)
    assert (data["status"], data["data"]["outcome"], len(data["data"]["files"][0]["hunks"])) == ("ok", "applied", 300)
    assert run("--patches", str(tmp_path / "catalog"), "verify", str(tree)).exit_code == 0


def test_every_hint_names_the_checkout_and_runs_where_the_admin_ran_it(tmp_path: Path, catalog_dir: Path) -> None:
    """The drift refusals say each path once and end in commands that carry the checkout (quoted) and the
    catalog; the hint runs as printed from another folder."""
    from conftest import PATCHED_ROUTES, ROUTES, build_tree, librechat_files

    root = build_tree(tmp_path / "Libre Chat", librechat_files())
    quoted = f"'{root}'"
    common = ("--patches", str(catalog_dir))
    assert run(*common, "apply", str(root)).exit_code == 0
    routes = "api/server/routes/models.js"
    (root / routes).write_text(PATCHED_ROUTES + "// edited\n")
    refused = run(*common, "apply", str(root))
    assert refused.exit_code == 1 and refused.stderr.count(routes) == 1, refused.stderr
    assert refused.stderr.startswith(f"error: {routes}: changed since the patches were applied; to see the edits: ")
    assert f" verify --verbose {quoted}; " in refused.stderr and refused.stderr.endswith(f" apply --force {quoted}\n")
    hint = refused.stderr.split("to see the edits: ", 1)[1].split(";", 1)[0]
    assert hint.split()[:4] == [sys.executable, "-m", "librechat_dynmodels", "--patches"], hint
    shown = subprocess.run(
        ["sh", "-c", hint], cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=SRC)
    )
    assert shown.returncode == 1 and "+// edited" in shown.stdout, shown.stderr
    rollback = run(*common, "rollback", str(root))
    assert rollback.stderr.count(routes) == 1 and rollback.stderr.endswith(f" rollback --force {quoted}\n")
    assert run(*common, "rollback", "--force", str(root)).exit_code == 0

    (root / routes).write_text(ROUTES.replace("express.Router()", "express.Router({ strict: true })"))
    failed = run(*common, "apply", "--series", "dynmodels-test", str(root))
    assert failed.exit_code == 1
    assert failed.stderr.rstrip().endswith(f" check --verbose --series dynmodels-test {quoted}"), failed.stderr
    status = run(*common, "status", str(root))
    assert "no series fits this checkout" in status.stdout and "nothing was written" not in status.stdout


def test_where_the_checkout_path_came_from_and_how_the_series_was_chosen_are_said_plainly(
    tree: Path, catalog_dir: Path
) -> None:
    absent = tree.parent / "absent"
    missing = run("--patches", str(catalog_dir), "status", env={"LIBRECHAT_DIR": str(absent)})
    assert missing.exit_code == 1 and missing.stderr == f"error: {absent}: not a directory (from LIBRECHAT_DIR)\n"
    assert run("--patches", str(catalog_dir), "apply", str(tree)).exit_code == 0
    status = run("--patches", str(catalog_dir), "status", str(tree))
    assert "series: dynmodels-test (from the manifest; 5 of 5 hunks match)" in status.stdout.splitlines()


def test_a_target_that_cannot_be_replaced_is_named_as_itself_not_as_its_temporary_file(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(tree)
    real = os.replace

    def read_only(src: str, dst: str | Path) -> None:
        if Path(dst) == tree / "api/server/routes/models.js":
            raise PermissionError(13, "Permission denied", src, None, str(dst))
        real(src, dst)

    monkeypatch.setattr(fsutil.os, "replace", read_only)
    refused = run("--patches", str(catalog_dir), "apply", str(tree))
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: api/server/routes/models.js: cannot replace the file (Permission denied); every file was restored, "
        "nothing changed\n"
    )
    assert snapshot(tree) == before


@pytest.mark.parametrize("off", [("--no-color",), ()])
def test_without_colour_a_terminal_gets_plain_text_with_no_bold_or_italic(
    tree: Path, catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, off: tuple[str, ...]
) -> None:
    from librechat_dynmodels import cli

    monkeypatch.setattr(cli, "_is_terminal", lambda stream: True)  # a person at a terminal
    common = ("--patches", str(catalog_dir), "check", str(tree))
    terminal = {"FORCE_COLOR": "1", "TERM": "xterm-256color", "COLUMNS": "120", "CI": ""}  # not a CI run's log
    colour = run(*common, env=terminal)
    assert colour.exit_code == 0 and "\x1b[1m" in colour.stdout  # the terminal does get styles
    plain = run(*off, *common, env={**terminal, "NO_COLOR": "1"})
    assert plain.exit_code == 0 and "\x1b[" not in plain.stdout and "┏" in plain.stdout, plain.stdout


def test_help_gives_the_exit_codes_once() -> None:
    for args in (("-h",), ("--help",)):
        assert run(*args).stdout.count("Exit codes:") == 1


def test_an_unknown_series_exits_1_as_the_readme_table_says(tree: Path, catalog_dir: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| 1 |"))
    assert "a `--series` the catalog does not have" in row
    for command in ("check", "apply"):
        data = envelope("--patches", str(catalog_dir), command, "--series", "dynmodels-nope", str(tree))
        assert (data["exit_code"], data["errors"][0]["code"]) == (1, "no_series"), command


def test_a_reader_that_went_away_ends_the_output_not_the_finished_apply(tree: Path, catalog_dir: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads stdout: every write to it fails with EPIPE
    command = [sys.executable, "-m", "librechat_dynmodels", "--patches", str(catalog_dir), "apply", str(tree)]
    env = dict(os.environ, PYTHONPATH=SRC, CI="true")
    try:
        done = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, text=True, env=env)
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (0, "")
    assert run("--patches", str(catalog_dir), "verify", str(tree)).exit_code == 0
