"""The command line: parse, call the engine, render. The only module that imports typer."""

import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .errors import (
    DriftError,
    DynModelsError,
    ExitCode,
    FileAccessError,
    InterruptError,
    PatchFailedError,
    UsageError,
)

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 expected failure, nothing changed; 2 usage error; 3 internal error "
    "(a log with the traceback is named); 4 rollback or recovery incomplete (state kept, run again); "
    "5 doctor --probe could not run the fetch; 6 verify --runtime: applied, not built; 130 interrupted."
)

COMMANDS = (
    "list",
    "status",
    "check",
    "apply",
    "verify",
    "rollback",
    "recover",
    "doctor",
    "matrix",
    "refresh",
    "port",
    "upgrade-catalog",
)
# Global options may be written before or after the command name.
_GLOBAL_FLAGS = {"--json", "-v", "--verbose", "-q", "--quiet", "--no-color"}
_GLOBAL_WITH_VALUE = {"--patches"}
# Options of the group that are not global options of a command (shown in the group's help only).
_GROUP_ONLY = {"version", "help", "install_completion", "show_completion"}
_PATCHES_SEEN = "librechat_dynmodels.patches"  # ctx.meta key: --patches as written, for the eager --version


def _click_errors() -> tuple[type[BaseException], ...]:
    """Click's exception root: vendored by newer typer releases, the click package under older ones."""
    import importlib

    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            return (importlib.import_module(name).ClickException,)
        except ImportError:
            continue
    return ()


class _GlobalOptionsFirst(TyperGroup):
    """Moves global options found after the command name in front of it; with ``--json``, a usage error
    is an envelope like any other error."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        front: list[str] = []
        rest: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rest.extend(args[i:])
                break
            if arg in _GLOBAL_FLAGS:
                front.append(arg)
            elif arg in _GLOBAL_WITH_VALUE and i + 1 < len(args):
                front.extend(args[i : i + 2])
                ctx.meta[_PATCHES_SEEN] = args[i + 1]
                i += 1
            elif arg.split("=", 1)[0] in _GLOBAL_WITH_VALUE:
                front.append(arg)
                ctx.meta[_PATCHES_SEEN] = arg.split("=", 1)[1]
            else:
                rest.append(arg)
            i += 1
        return super().parse_args(ctx, front + rest)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        options = argv[: argv.index("--")] if "--" in argv else argv
        if "--json" not in options or not standalone_mode:
            return super().main(argv, prog_name, complete_var, standalone_mode, windows_expand_args, **extra)
        try:
            code = super().main(argv, prog_name, complete_var, False, windows_expand_args, **extra)
        except _click_errors() as exc:
            from .render import envelope

            command = next((a for a in options if a in self.commands), None)
            exit_code = int(getattr(exc, "exit_code", ExitCode.USAGE))
            message = str(exc.format_message())  # type: ignore[attr-defined]
            error = UsageError(message) if exit_code == ExitCode.USAGE else DynModelsError(message)
            typer.echo(envelope(command, exit_code, None, [error]))
            sys.exit(exit_code)
        sys.exit(code if isinstance(code, int) else 0)


class _Command(TyperCommand):
    """A command whose help also lists the global options, which work after the command name too."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        super().format_options(ctx, formatter)
        parent = ctx.parent
        if parent is None:
            return
        rows = [
            record
            for param in parent.command.get_params(parent)
            if param.name not in _GROUP_ONLY and (record := param.get_help_record(parent)) is not None
        ]
        if rows:
            with formatter.section("Global options (before or after the command name)"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_GlobalOptionsFirst,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Apply, check, verify and roll back the dynamic per-user models patches on a LibreChat "
    "checkout. PATH defaults to $LIBRECHAT_DIR, else the LibreChat root above the current folder.",
    epilog=EXIT_CODES_HELP,
)


class Settings(NamedTuple):
    json: bool = False
    verbose: bool = False
    quiet: bool = False
    color: bool = True
    patches: Path | None = None

    @property
    def fancy(self) -> bool:
        """Rich tables only for a person at a terminal."""
        return _is_terminal(sys.stdout) and os.environ.get("CI", "").lower() not in ("1", "true")

    @property
    def progress(self) -> bool:
        """Progress on stderr: for a person watching a terminal, never with -q or --json."""
        return not self.json and not self.quiet and _is_terminal(sys.stderr)


def program_command(patches: Path | None = None) -> str:
    """The command that runs this tool again, from any folder: the bare name only when PATH finds this very
    program, else its absolute path (a post-install venv is rarely on PATH), or ``python -m`` for a module run;
    plus ``--patches`` when a catalog was given. Quoted for the shell."""
    import shutil

    from .errors import quote_arg

    argv0 = sys.argv[0] if sys.argv else ""
    name = Path(argv0).name
    words: list[str]
    if name.startswith("librechat-dynmodels"):  # the console script (librechat-dynmodels.exe on Windows)
        found = shutil.which(name)
        here = os.path.abspath(argv0)
        same = found is not None and os.path.abspath(found) == here
        words = ["librechat-dynmodels" if same else here]
    elif name == "__main__.py" or not shutil.which("librechat-dynmodels"):  # python -m, or embedded
        words = [sys.executable, "-m", "librechat_dynmodels"]
    else:
        words = ["librechat-dynmodels"]
    if patches is not None:
        words += ["--patches", os.path.abspath(patches)]
    return " ".join(w if w == "-m" else quote_arg(w) for w in words)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _version(ctx: typer.Context, value: bool) -> None:
    """The version, then the catalog in use: where, how many series, which releases."""
    if not value:
        return
    typer.echo(f"librechat-dynmodels {__version__}")
    from .catalog import load_catalog

    given = ctx.meta.get(_PATCHES_SEEN)
    try:
        catalog = load_catalog(Path(given) if given else None)
    except DynModelsError as exc:
        typer.echo(f"catalog: cannot be read: {exc}")
        raise typer.Exit(0) from None
    releases = catalog.releases
    span = f"LibreChat {releases[0]} to {releases[-1]}" if releases else "no releases"
    count = len(catalog.series)
    typer.echo(f"catalog: {catalog.directory} ({count} series; {span})")
    raise typer.Exit(0)


@app.callback()
def _global(
    ctx: typer.Context,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON envelope instead of text.")] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show every hunk and diff.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Print only errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")] = False,
    patches: Annotated[
        Path | None, typer.Option("--patches", help="Use this patch catalog instead of the shipped one.")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    ctx.obj = Settings(
        json=json_output,
        verbose=verbose,
        quiet=quiet,
        color=not no_color and "NO_COLOR" not in os.environ,
        patches=patches,
    )


def _complete_series(ctx: typer.Context, incomplete: str) -> list[str]:
    """Shell completion of --series: the series of the catalog in use."""
    from .catalog import load_catalog

    given = ctx.meta.get(_PATCHES_SEEN)
    try:
        return [s for s in load_catalog(Path(given) if given else None).series if s.startswith(incomplete)]
    except DynModelsError:
        return []


def _complete_components(incomplete: str) -> list[str]:
    from .catalog import COMPONENTS

    return [c for c in COMPONENTS if c.startswith(incomplete)]


PathArg = Annotated[Path | None, typer.Argument(help="LibreChat checkout (default: $LIBRECHAT_DIR or the one above).")]
SeriesOpt = Annotated[
    str | None,
    typer.Option("--series", help="Use this series instead of choosing by content.", autocompletion=_complete_series),
]
FuzzOpt = Annotated[int, typer.Option("--fuzz", help="Ignore up to N lines of context per hunk (0-2), as GNU patch.")]


def _log_internal_error() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"librechat-dynmodels-{stamp}-{os.getpid()}.log"
    try:
        log.write_text(traceback.format_exc(), encoding="utf-8")
    except OSError:
        log = Path("(could not write a log)")
    return log


def _finish(
    ctx: typer.Context,
    command: str,
    work: Callable[[], tuple[Any, int, list[DynModelsError]]],
    writes: bool = False,
) -> None:
    """Run one command: render its result or its error, and exit with the documented code.

    ``writes``: the command changes the checkout, so Ctrl-C and SIGTERM are held from its start (the engine
    holds them while it writes; this leaves no moment between its end and the report). Every command's report
    is written whole under the same hold: a finished command says what is true, even to a slow pipe."""
    from .engine import _deferred_interrupts

    with _deferred_interrupts() if writes else nullcontext():
        code, result, errors = _run(work)
        with _deferred_interrupts():
            _report(ctx.obj, command, code, result, errors)
    raise typer.Exit(code)


def _run(work: Callable[[], tuple[Any, int, list[DynModelsError]]]) -> tuple[int, Any, list[DynModelsError]]:
    """The command's exit code, result and errors; an exception becomes its error."""
    try:
        result, code, errors = work()
        return code, result, errors
    except DynModelsError as exc:
        return int(exc.exit_code), None, [exc]
    except KeyboardInterrupt:
        return int(ExitCode.INTERRUPTED), None, [InterruptError("interrupted; nothing was written")]
    except OSError as exc:  # the file system said no (disk full, no inodes, name too long, a loop, ...)
        refused = FileAccessError(f"{exc.strerror or exc}; nothing more was done", exc.filename)
        return int(refused.exit_code), None, [refused]
    except Exception as exc:  # a bug: one line, a log with the traceback
        log = _log_internal_error()
        error = DynModelsError(f"internal error: {type(exc).__name__}: {exc}; please report it with the log at {log}")
        error.code = "internal"
        return int(ExitCode.INTERNAL), None, [error]


def _report(settings: Settings, command: str, code: int, result: Any, errors: list[DynModelsError]) -> None:
    """Print the result (or the envelope) and the errors. A reader that went away (a closed pipe) ends the
    output, not the command: its exit code stays what the command did."""
    from . import render

    try:
        if settings.json:
            _write_whole(render.envelope(command, code, result, errors) + "\n", sys.stdout)
            return
        program = program_command(settings.patches)
        shown = result is not None and not settings.quiet
        if shown:
            output = render.describe(result, settings.verbose, program)
            text = render.rich_text(output, settings.color) if settings.fancy else render.plain_text(output)
            _write_whole(_with_program(text, program), sys.stdout)
        # What a rendered result already shows (doctor's blockers, check's failing hunks) is not repeated on
        # the same terminal; it still goes to stderr when that is read on its own (a log, a pipe) or with -q.
        if not (shown and _is_terminal(sys.stdout) and _is_terminal(sys.stderr)):
            for error in errors:
                typer.echo(_with_program(render.error_line(error), program), err=True)
    except BrokenPipeError:
        _discard_stdout()


def _with_program(text: str, program: str) -> str:
    """Hints name the tool as ``librechat-dynmodels COMMAND`` (see errors.command_hint): there, the program that
    ran and its ``--patches``, so each hint runs where the admin ran this one (a venv not on PATH, a fork's
    catalog). A name in quotes is left alone: the program may be quoted itself."""
    import re

    from .errors import PROGRAM

    if program == PROGRAM:
        return text
    commands = "|".join(c for c in COMMANDS)
    return re.sub(rf"(?<![\w./'-]){PROGRAM} (?=(?:{commands})\b)", lambda _: f"{program} ", text)


def _write_whole(text: str, stream: Any) -> None:
    """Write ``text`` to the very end. Through its binary buffer, written again from where the system stopped:
    a text stream over an unbuffered stdout (``PYTHONUNBUFFERED``, which many images and CI runners set)
    drops, without a word, the rest of a write to a full pipe that a signal interrupts."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        stream.write(text)
        stream.flush()
        return
    stream.flush()
    if os.linesep != "\n":  # what a text stream does on Windows
        text = text.replace("\n", os.linesep)
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        written = binary.write(data)
        if written is None:  # a non-blocking stdout that is full: wait until it takes more
            import select

            select.select([], [binary.fileno()], [])
            continue
        data = data[written:]
    binary.flush()


def _discard_stdout() -> None:
    """After the reader of stdout went away: what is still buffered goes nowhere, not into a traceback at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's captured stream)
        pass


def _context(ctx: typer.Context, path: Path | None) -> tuple[Any, Any]:
    from .catalog import load_catalog
    from .checkout import find_checkout

    settings: Settings = ctx.obj
    return find_checkout(path), load_catalog(settings.patches)


@contextmanager
def _progress(ctx: typer.Context, label: str) -> Iterator[Callable[[str], None] | None]:
    """A one-line progress display on stderr, updated with each step's description; None when it is off
    (``-q``, ``--json``, or stderr is not a terminal), so stdout only ever has the result."""
    settings: Settings = ctx.obj
    if not settings.progress:
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # no_color alone still draws bold: without colour, no styles at all
    console = Console(
        stderr=True, force_terminal=True, highlight=False, color_system="auto" if settings.color else None
    )
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def show(step: str) -> None:
            progress.update(task, description=f"{label} {step}", refresh=True)

        yield show


def _options(**kwargs: Any) -> Any:
    from .engine import Options

    components = tuple(kwargs.pop("components", None) or ())
    return Options(components=components, **kwargs)


@app.command("list", cls=_Command)
def list_command(ctx: typer.Context) -> None:
    """Show every series in the catalog, its releases and components."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .catalog import load_catalog
        from .engine import list_series

        return list_series(load_catalog(ctx.obj.patches)), 0, []

    _finish(ctx, "list", work)


@app.command(cls=_Command)
def status(ctx: typer.Context, path: PathArg = None, series: SeriesOpt = None) -> None:
    """Release, native support, chosen series and the state of every target file."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .engine import status as run

        checkout, catalog = _context(ctx, path)
        return run(checkout, catalog, _options(series_id=series)), 0, []

    _finish(ctx, "status", work)


@app.command(cls=_Command)
def check(ctx: typer.Context, path: PathArg = None, series: SeriesOpt = None, fuzz: FuzzOpt = 0) -> None:
    """Dry run that writes nothing: how every hunk would apply. Exit 0 when the series applies or is applied."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .engine import check as run

        checkout, catalog = _context(ctx, path)
        report = run(checkout, catalog, _options(series_id=series, fuzz=fuzz))
        errors: list[DynModelsError] = [
            PatchFailedError(h.summary(), h.path) for f in report.files for h in f.hunks if not h.ok
        ]
        return report, 0 if report.ok else 1, errors

    _finish(ctx, "check", work)


@app.command(cls=_Command)
def apply(
    ctx: typer.Context,
    path: PathArg = None,
    series: SeriesOpt = None,
    fuzz: FuzzOpt = 0,
    component: Annotated[
        list[str] | None,
        typer.Option(
            "--component",
            help="Apply only this component (repeatable); what it needs comes along.",
            autocompletion=_complete_components,
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and the diff; write nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Re-apply over a drifted or partially patched checkout.")
    ] = False,
) -> None:
    """Back up, then apply every hunk of the series atomically (all files or none)."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .engine import apply as run

        checkout, catalog = _context(ctx, path)
        opts = _options(series_id=series, fuzz=fuzz, components=component, dry_run=dry_run, force=force)
        with _progress(ctx, "applying") as on_write:
            return run(checkout, catalog, opts, on_write), 0, []

    _finish(ctx, "apply", work, writes=not dry_run)


@app.command(cls=_Command)
def verify(
    ctx: typer.Context,
    path: PathArg = None,
    runtime: Annotated[
        bool,
        typer.Option(
            "--runtime",
            help="Instead: check what LibreChat runs, the built client bundle and dist folders (exit 6 when "
            "applied but not rebuilt, naming the command).",
        ),
    ] = False,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            metavar="URL",
            help="Instead (or with --runtime): ask the running LibreChat at URL (http://HOST:3080) whether it "
            "serves the feature; no login, no key.",
        ),
    ] = None,
) -> None:
    """Exit 0 only when every file the series changed still matches the manifest."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        if runtime or url is not None:
            from .runtime import run_verify_runtime

            return run_verify_runtime(lambda: _context(ctx, path), runtime, url)
        from .engine import verify as run

        checkout, catalog = _context(ctx, path)
        report = run(checkout, catalog, _options(verbose=ctx.obj.verbose))
        errors: list[DynModelsError] = [
            DriftError(f"{f.state} since apply", f.path) for f in report.files if f.state != "ok"
        ]
        return report, 0 if report.ok else 1, errors

    _finish(ctx, "verify", work)


@app.command(cls=_Command)
def rollback(
    ctx: typer.Context,
    path: PathArg = None,
    force: Annotated[
        bool, typer.Option("--force", help="Roll back edited files too, keeping each edit as FILE.dynmodels-edited.")
    ] = False,
) -> None:
    """Restore every original byte for byte, delete created files, remove the state directory."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .engine import rollback as run

        checkout, catalog = _context(ctx, path)
        with _progress(ctx, "restoring") as on_write:
            return run(checkout, catalog, _options(force=force), on_write), 0, []

    _finish(ctx, "rollback", work, writes=True)


@app.command(cls=_Command)
def recover(ctx: typer.Context, path: PathArg = None) -> None:
    """Finish or undo an apply or rollback that was interrupted (the checkout ends pristine)."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .checkout import find_checkout
        from .engine import recover as run

        return run(find_checkout(path)), 0, []

    _finish(ctx, "recover", work, writes=True)


@app.command(cls=_Command)
def doctor(
    ctx: typer.Context,
    path: PathArg = None,
    probe: Annotated[
        str | None,
        typer.Option(
            "--probe",
            metavar="ENDPOINT",
            help="Instead: fetch this custom endpoint's models as the server would, with the checkout's own code "
            "(needs node and node_modules). Exit 0 when the fetch works, 1 when it fails, 5 when it cannot run.",
        ),
    ] = None,
    key_env: Annotated[
        str | None,
        typer.Option(
            "--key-env",
            metavar="NAME",
            help="With --probe: the environment variable holding the key to send (needed for apiKey: "
            "user_provided). The key never appears in the output.",
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="With --probe: the base URL to test for baseURL: user_provided (a user's URL: its rules apply).",
        ),
    ] = None,
) -> None:
    """Check librechat.yaml and .env against the feature, per custom endpoint, and whether the patches are
    applied and verified. Exit 0 when nothing blocks the feature."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .errors import FindingError

        if probe is not None:
            from .checkout import find_checkout
            from .probe import probe as run_probe

            result = run_probe(find_checkout(path), probe, key_env, base_url)
            failed: list[DynModelsError] = [] if result.ok else [FindingError(result.category, _probe_failure(result))]
            return result, 0 if result.ok else 1, failed
        if key_env is not None or base_url is not None:
            raise UsageError("--key-env and --base-url go with --probe ENDPOINT")
        from .doctor import doctor as run

        checkout, catalog = _context(ctx, path)
        report = run(checkout, catalog)
        errors: list[DynModelsError] = [
            FindingError(f.code, f"endpoint {f.endpoint!r}: {f.message}" if f.endpoint else f.message, f.path)
            for f in report.findings
            if f.severity == "blocker"
        ]
        return report, 0 if report.ok else 1, errors

    _finish(ctx, "doctor", work)


def _probe_failure(result: Any) -> str:
    status = f" (HTTP {result.status})" if result.status else ""
    return f"endpoint {result.endpoint!r}: the fetch failed: {result.category}{status}"


@app.command(cls=_Command)
def matrix(
    ctx: typer.Context,
    tags: Annotated[
        list[str] | None,
        typer.Argument(
            help="Tags, branches (main: its head as the mirror has it now) or commits (default: the catalog's "
            "releases, plus newer tags)."
        ),
    ] = None,
    git_dir: Annotated[Path, typer.Option("--git", help="A LibreChat git mirror with the release tags.")] = Path("."),
) -> None:
    """Export every release (or branch head) and run status, check, apply, verify, re-apply and rollback on each."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .catalog import load_catalog
        from .matrix import run_matrix

        with _progress(ctx, "matrix") as on_step:
            report = run_matrix(git_dir, load_catalog(ctx.obj.patches), tags or None, on_step=on_step)
        errors: list[DynModelsError] = [
            DynModelsError(row.finding or "; ".join(f"{k} {v}" for k, v in row.steps.items() if v != "ok"), row.tag)
            for row in report.rows
            if not row.ok
        ]
        return report, 0 if report.ok else 1, errors

    _finish(ctx, "matrix", work)


@app.command(cls=_Command)
def refresh(
    ctx: typer.Context,
    path: PathArg = None,
    include: Annotated[
        list[str] | None, typer.Option("--include", help="Also take this edited file into the series.")
    ] = None,
    git_dir: Annotated[
        Path | None,
        typer.Option(
            "--git",
            help="A LibreChat git mirror with the checkout's release: where --include reads a file's original "
            "(needed on a checkout without git).",
        ),
    ] = None,
) -> None:
    """Regenerate the applied series' patch files from the backups and the hand-edited checkout. Writes only
    into a catalog given with --patches or the one of the project checkout the tool runs from."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .maintain import refresh as run

        checkout, catalog = _context(ctx, path)
        return run(checkout, catalog, tuple(include or ()), git_dir), 0, []

    _finish(ctx, "refresh", work)


@app.command(cls=_Command)
def port(
    ctx: typer.Context,
    path: PathArg = None,
    source: Annotated[str, typer.Option("--from", help="The series to port.")] = "",
    git_dir: Annotated[Path, typer.Option("--git", help="A LibreChat git mirror with the series' release.")] = Path(
        "."
    ),
    new_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help="Id of the new series (default: dynmodels-native-RELEASE from a native series, else "
            "dynmodels-RELEASE).",
        ),
    ] = None,
    release: Annotated[
        str | None,
        typer.Option(
            "--release",
            help="What the new series claims (default: the checkout's version; main for a port onto that branch). "
            "Refused when the mirror has it and the new series does not apply to it.",
        ),
    ] = None,
) -> None:
    """Start a series for this checkout's release from --from, by three-way merge; conflicts stay marked. Writes
    only into a catalog given with --patches or the one of the project checkout the tool runs from."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .maintain import port as run

        if not source:
            raise UsageError("port needs --from SERIES")
        checkout, catalog = _context(ctx, path)
        with _progress(ctx, "port") as on_step:
            report = run(checkout, catalog, source, git_dir, new_id, on_step=on_step, release=release)
        return report, 0, []

    _finish(ctx, "port", work)


@app.command("upgrade-catalog", cls=_Command)
def upgrade_catalog(
    ctx: typer.Context,
    refs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Tags, branches or commits (default: the release tags newer than the catalog's, and main)."
        ),
    ] = None,
    git_dir: Annotated[Path, typer.Option("--git", help="A LibreChat git mirror with the releases.")] = Path("."),
    catalog_out: Annotated[
        Path | None,
        typer.Option(
            "--catalog-out",
            help="Write the upgraded catalog here (a new folder) instead of adding the ready series to --patches.",
        ),
    ] = None,
    report_md: Annotated[
        Path | None, typer.Option("--report", help="Also write the report as Markdown here (a pull request's body).")
    ] = None,
) -> None:
    """For every new release or branch head: a series that fits it, or one ported from the closest series that
    passes the whole matrix life cycle; the rest is reported as what needs a human. Exit 0 when every ref has a
    ready series, 1 when some need a human (the ready ones are written), 2 on a usage error."""

    def work() -> tuple[Any, int, list[DynModelsError]]:
        from .catalog import load_catalog
        from .fsutil import atomic_write
        from .upgrade import upgrade_catalog as run

        with _progress(ctx, "upgrade-catalog") as on_step:
            report = run(git_dir, load_catalog(ctx.obj.patches), refs or None, catalog_out, on_step=on_step)
        if report_md is not None:
            atomic_write(report_md, report.markdown().encode("utf-8"))
        errors = [
            DynModelsError("; ".join(n.what for n in row.needs) or row.outcome, row.ref)
            for row in report.rows
            if not row.ok
        ]
        errors += [DynModelsError(f"{c.series}: {c.problem}", c.release) for c in report.claims]
        return report, 0 if report.ok else 1, errors

    _finish(ctx, "upgrade-catalog", work)


_UNENCODABLE = "librechat_dynmodels.unencodable"


def _write_unencodable(error: UnicodeError) -> tuple[str | bytes, int]:
    """A codec error handler for stdout and stderr: a character the stream's encoding lacks (``é`` under
    ``PYTHONIOENCODING=ascii``) is written as ``\\xe9``; a byte of a non-UTF-8 file name (read as a lone
    surrogate) is written back as that byte, so a printed path is the real one."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    char = error.object[error.start]
    if "\udc80" <= char <= "\udcff":
        return bytes([ord(char) - 0xDC00]), error.start + 1
    return char.encode("ascii", "backslashreplace").decode("ascii"), error.start + 1


def _tolerant_output() -> None:
    """Output never fails a finished command: what stdout or stderr cannot encode is replaced, not raised."""
    import codecs
    import io

    codecs.register_error(_UNENCODABLE, _write_unencodable)
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors=_UNENCODABLE)


def main() -> None:
    _tolerant_output()
    try:
        app(prog_name="librechat-dynmodels")
    except KeyboardInterrupt:
        typer.echo("error: interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))


__all__ = ["app", "main", "UsageError"]
