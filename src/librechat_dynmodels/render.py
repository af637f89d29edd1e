"""Turn result objects into human output (rich tables on a terminal, plain lines elsewhere)
and into the one ``--json`` envelope. Only the CLI calls this module."""

import json
from collections.abc import Callable
from typing import Any, NamedTuple, TextIO

from .errors import PROGRAM, DynModelsError, quote_arg
from .models import (
    ApplyReport,
    CheckReport,
    DoctorReport,
    FileResult,
    HunkResult,
    ListReport,
    ProbeReport,
    RecoverReport,
    RollbackReport,
    StatusReport,
    VerifyReport,
    to_jsonable,
)

SCHEMA_VERSION = 1


def envelope(command: str | None, exit_code: int, result: Any, errors: list[DynModelsError]) -> str:
    status = "ok" if exit_code == 0 else ("error" if result is None else "failed")
    body = {
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "status": status,
        "exit_code": exit_code,
        "data": to_jsonable(result) if result is not None else None,
        "errors": [_error_data(e) for e in errors],
    }
    return json.dumps(body, indent=2, sort_keys=False)


def _error_data(error: DynModelsError) -> dict[str, Any]:
    data: dict[str, Any] = {"code": error.code, "message": error.message, "path": error.path}
    if error.hint is not None:
        data["hint"] = error.hint._asdict()
    return data


def error_line(error: DynModelsError) -> str:
    """``error: MESSAGE`` and, when the error carries one, ``; DOES: COMMAND``: one line."""
    return f"error: {error}" + (f"; {error.hint}" if error.hint is not None else "")


class Table(NamedTuple):
    """A table described as data; drawn by rich on a terminal or as aligned plain text.

    On a narrow terminal the ``keep`` columns (paths, series) stay whole, the others wrap, and the
    ``optional`` ones are left out, in that order, until the kept columns fit."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    keep: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


class Output(NamedTuple):
    lines: list[str]
    tables: list[Table]
    footer: list[str]


def _file_rows(files: tuple[FileResult, ...], show_uncommitted: bool = False) -> list[list[str]]:
    rows = []
    for f in files:
        row = [f.path, f.component, f.action, f.state]
        if show_uncommitted:
            row.append({True: "uncommitted edits", False: "", None: "?"}[f.uncommitted])
        rows.append(row)
    return rows


def _installs_feature_file(hunk: HunkResult) -> bool:
    """A feature file the series installs whole (its "hunk" is the file), not a hunk of a glue patch."""
    from .catalog import FEATURE_DIR

    return hunk.patch.startswith(FEATURE_DIR + "/")


def _hunk_table(files: tuple[FileResult, ...]) -> Table:
    """Each hunk of the glue patches, with its result; a feature file only when it is in the way."""
    rows = [
        [h.path, f"{h.number} {h.describe()}", "feature file" if _installs_feature_file(h) else h.patch]
        for f in files
        for h in f.hunks
        if not _installs_feature_file(h) or not h.ok
    ]
    return Table("hunks", ["file", "hunk", "patch"], rows, keep=("file",), optional=("patch",))


def _installs_line(files: tuple[FileResult, ...]) -> list[str]:
    """``installs N feature files: N new`` (or already installed, or in the way: those are in the table)."""
    installs = [h for f in files for h in f.hunks if _installs_feature_file(h)]
    if not installs:
        return []
    new = sum(1 for h in installs if h.status == "exact")
    there = sum(1 for h in installs if h.status == "already applied")
    other = len(installs) - new - there
    parts = [f"{new} new"] * bool(new) + [f"{there} already installed"] * bool(there)
    parts += [f"{other} in the way (in the table)"] * bool(other)
    return [f"installs {len(installs)} feature file{'s' * (len(installs) != 1)}: {', '.join(parts)}"]


def describe(result: Any, verbose: bool = False, program: str = PROGRAM) -> Output:
    """``program``: the command that runs this tool again (hints name it, e.g. ``undo with: PROGRAM rollback``)."""
    if type(result) not in _BUILDERS:
        _register_maintainer_reports()
    builder = _BUILDERS[type(result)]
    output = builder(result, verbose, program)
    lock_left = getattr(result, "lock_left", None)  # a writing command that did its work but left its lock
    return output._replace(footer=[*output.footer, f"warning: {lock_left}"]) if lock_left else output


def _list(r: ListReport, verbose: bool, program: str) -> Output:
    rows = [
        [s.id, ", ".join(s.librechat), ", ".join(s.components), "native" if s.native else "pre-native"]
        for s in r.series
    ]
    footer = [f"{s.id}: {s.description}" for s in r.series] if verbose else []
    table = Table("series", ["series", "releases", "components", "kind"], rows, ("series",), ("components", "kind"))
    return Output([f"catalog: {r.catalog}", f"releases: {', '.join(r.releases) or 'none'}"], [table], footer)


def _series_line(choice: Any) -> str:
    if choice is None:
        return "series: none"
    how = {"state directory": "from the manifest", "--series": "chosen by --series"}.get(choice.reason)
    how = how or f"chosen by {choice.reason}"
    line = f"series: {choice.id} ({how}; {choice.hunks_ok} of {choice.hunks_total} hunks match)"
    if choice.reason == "--series" and not choice.targets_version:
        line += "; it does not name this release"
    return line


def _status(r: StatusReport, verbose: bool, program: str) -> Output:
    native = "yes" if r.native_support else "no"
    lines = [
        f"checkout: {r.root}",
        f"release: {r.librechat_version or 'unknown'}",
        f"native per-user fetching: {native}" + (f" ({r.native_evidence})" if r.native_evidence else ""),
        _series_line(r.series),
        f"state: {r.state}" + _build_suffix(r),
    ]
    if r.applied_at:
        lines.append(f"applied: {r.applied_at} (components: {', '.join(r.components)})")
    tables = [
        Table(
            "files",
            ["file", "component", "action", "state"] + (["git"] if r.git_worktree else []),
            _file_rows(r.files, r.git_worktree),
            keep=("file",),
            optional=("component", "action"),
        )
    ]
    footer = [r.message] if r.message else []
    footer += [f"{r.hint.does[0].upper()}{r.hint.does[1:]}: {r.hint.command}"] if r.hint else []
    return Output(lines, tables, footer)


def _build_suffix(r: StatusReport) -> str:
    """``state: patched, build out of date``: what LibreChat runs is not yet what was applied."""
    return f", build {r.build}" if r.build else ""


def _check(r: CheckReport, verbose: bool, program: str) -> Output:
    lines = [f"release: {r.librechat_version or 'unknown'}", _series_line(r.series), f"state: {r.state}"]
    verdict = (
        "the series is already applied"
        if r.state == "patched"
        else ("the whole series would apply" if r.ok else "the series does not apply")
    )
    hint = [f"{r.hint.does[0].upper()}{r.hint.does[1:]}: {r.hint.command}"] if r.hint else []
    return Output(lines, [_hunk_table(r.files)], [*_installs_line(r.files), verdict, *hint])


def _apply(r: ApplyReport, verbose: bool, program: str) -> Output:
    lines = [_series_line(r.series), f"components: {', '.join(r.components)}"]
    tables = [
        Table(
            "files",
            ["file", "component", "action", "state before"],
            _file_rows(r.files),
            keep=("file",),
            optional=("component", "action"),
        )
    ]
    footer = []
    if verbose:
        tables.append(_hunk_table(r.files))
        footer += _installs_line(r.files)
    if r.rolled_back_first:
        footer.append("rolled back the previous apply first")
    edited = [f.path for f in r.files if f.uncommitted]
    if edited and r.outcome in ("applied", "would apply"):
        kept = "are kept under the patches" if r.outcome == "applied" else "would be kept under the patches"
        footer.append(f"uncommitted git edits in {', '.join(edited)} {kept} (rollback restores them byte for byte)")
    if r.outcome == "applied":
        footer.append(f"applied: {len(r.files)} files; backups and manifest in {r.state_dir}")
        footer.append(f"undo with: {program} rollback {quote_arg(str(r.root))}")
        footer += _next_step_lines(r)
    elif r.outcome == "would apply":
        footer.append(f"dry run: would change {len(r.files)} files; nothing was written")
        if r.diff:
            footer.append(r.diff.rstrip("\n"))
    else:
        footer.append("already applied: nothing to do")
    return Output(lines, tables, footer)


def _next_step_lines(r: ApplyReport) -> list[str]:
    return [f"next: {step}" for step in r.next_steps]


def _verify(r: VerifyReport, verbose: bool, program: str) -> Output:
    rows = [[f.path, f.state] for f in r.files]
    footer = [
        "verified: every file matches the manifest"
        if r.ok
        else "verify failed: " + ", ".join(f"{f.path} ({f.state})" for f in r.files if f.state != "ok")
    ]
    if verbose:
        footer += [f.diff.rstrip("\n") for f in r.files if f.diff]
    return Output([f"series: {r.series}"], [Table("files", ["file", "state"], rows, keep=("file",))], footer)


def _rollback(r: RollbackReport, verbose: bool, program: str) -> Output:
    lines = [f"{r.outcome}" + (f": {r.series}" if r.series else "")]
    lines += [f"restored {p}" for p in r.restored] + [f"deleted {p}" for p in r.deleted]
    lines += [f"kept your edited copy as {p}" for p in r.kept_edited]
    lines += [f"left {p} as the new release has it" for p in r.left_as_released]
    return Output(lines, [], [])


def _recover(r: RecoverReport, verbose: bool, program: str) -> Output:
    lines = [r.outcome] + [f"restored {p}" for p in r.restored] + [f"deleted {p}" for p in r.deleted]
    lines += [f"kept an edited copy as {p}" for p in r.kept_edited]
    return Output(lines, [], [])


def _doctor(r: DoctorReport, verbose: bool, program: str) -> Output:
    lines = [
        f"checkout: {r.root}",
        f"release: {r.librechat_version or 'unknown'}",
        f"config: {r.config} ({r.config_source})",
        f"env: {r.env_file or 'no .env'} (read after the environment, as dotenv does)",
    ]
    p = r.patches
    if p is None:
        lines.append("patches: unknown")
    elif p.native_support and not p.applied:
        lines.append(f"patches: extras not applied (optional: native per-user fetching, {p.native_evidence})")
    else:
        verified = {True: ", verified", False: ", NOT verified", None: ""}[p.verified]
        applied = "from the manifest" if p.applied else "no manifest"
        lines.append(f"patches: {p.state} ({p.series or 'no series fits'}; {applied}{verified})")
    endpoint_rows = [[e.name, "yes" if e.eligible else "no", ", ".join(e.reasons) or "-"] for e in r.endpoints]
    finding_rows = [
        [f.severity, f.code, f.endpoint or f.path or "-", f.message]
        for f in sorted(r.findings, key=lambda f: f.severity != "blocker")
    ]
    blockers = sum(1 for f in r.findings if f.severity == "blocker")
    warnings = len(r.findings) - blockers
    verdict = (
        f"nothing blocks the feature ({warnings} warning{'s' * (warnings != 1)})"
        if r.ok
        else f"{blockers} blocker{'s' * (blockers != 1)}, {warnings} warning{'s' * (warnings != 1)}: "
        "fix the blockers and run doctor again"
    )
    tables = [
        Table("custom endpoints", ["endpoint", "per-user models", "findings"], endpoint_rows, keep=("endpoint",)),
        Table("findings", ["severity", "code", "where", "message"], finding_rows, keep=("code",)),
    ]
    return Output(lines, tables, [verdict])


# What a failed probe's category means to an admin (the categories of userModelsFetch.js's FetchErrors).
_PROBE_HINTS = {
    "unauthorized": "the provider refused the key",
    "unreachable": "no answer from the provider, or it is overloaded or failing (429, 5xx)",
    "timeout": "no complete answer in time",
    "bad_response": "the answer is not an OpenAI-compatible model list",
    "blocked_url": "the base URL is refused as a user's URL (https only, public addresses, unless its host is "
    "listed in endpoints.allowedAddresses or DYNAMIC_MODELS_ALLOWED_HOSTS)",
    "canceled": "the fetch was stopped",
}


def _probe(r: ProbeReport, verbose: bool, program: str) -> Output:
    status = f" (HTTP {r.status})" if r.status else ""
    lines = [
        f"endpoint: {r.endpoint}" + (" (a user's base URL, from --base-url)" if r.user_provided_url else ""),
        f"result: {r.category}{status}",
    ]
    if r.ok:
        filters = f" after models.include/exclude ({r.fetched} fetched)" if r.filtered else ""
        lines.append(f"models: {r.kept}{filters}")
    lines.append(f"time: {r.elapsed_ms} ms")
    column = f"model (first {len(r.first)} of {r.kept})" if r.kept > len(r.first) else "model"
    tables = [Table("models", [column], [[model] for model in r.first], keep=(column,))]
    if r.ok:
        verdict = f"the fetch works: {r.kept} model{'s' * (r.kept != 1)}"
    else:
        hint = _PROBE_HINTS.get(r.category)
        verdict = f"the fetch failed: {r.category}{status}" + (f": {hint}" if hint else "")
    return Output(lines, tables, [verdict])


def _matrix(r: Any, verbose: bool, program: str) -> Output:
    from .matrix import STEPS

    steps = STEPS if verbose else ()
    rows = [
        [
            row.tag,
            row.series or "-",
            row.result,
            *(_short(row.steps[s]) for s in steps),
            f"{row.hunks_exact}/{row.hunks_offset}/{row.hunks_fuzz}",
        ]
        for row in r.rows
    ]
    footer = [note for row in r.rows if (note := row.note)]
    footer += [f"{row.tag}: {row.finding}" for row in r.rows if row.finding]
    footer += [f"{row.tag} {k}: {v}" for row in r.rows for k, v in row.steps.items() if v.startswith("failed")]
    return Output(
        [f"mirror: {r.mirror}"],
        [
            Table(
                "releases",
                ["ref", "series", "result", *steps, "exact/offset/fuzz"],
                rows,
                keep=("ref", "series"),
                optional=("exact/offset/fuzz", *steps),
            )
        ],
        footer + [r.summary],
    )


def _upgrade(r: Any, verbose: bool, program: str) -> Output:
    rows = [
        [row.ref, row.kind, row.outcome, row.series or "-", row.source or "-", row.matrix.result if row.matrix else "-"]
        for row in r.rows
    ]
    footer = [note for row in r.rows if (note := row.note)]
    for row in r.rows:
        for n in row.needs:
            where = (n.path + (f":{n.line}" if n.line else "") + ": ") if n.path else ""
            footer.append(f"needs a human: {row.ref}: {where}{n.what}")
    footer += [f"claim that does not apply: {c.release} by {c.series}: {c.problem}" for c in r.claims]
    footer.append(
        f"wrote {', '.join(r.written)} in {r.catalog}" if r.written else f"nothing new written in {r.catalog}"
    )
    footer.append(f"{r.summary} ({r.seconds:.0f} s)")
    table = Table(
        "refs", ["ref", "kind", "outcome", "series", "ported from", "life cycle"], rows, keep=("ref", "series")
    )
    return Output([f"mirror: {r.mirror}"], [table], footer)


def _short(step: str) -> str:
    return "failed" if step.startswith("failed") else step


def _refresh(r: Any, verbose: bool, program: str) -> Output:
    rows = [[p.file, p.component, str(len(p.files)), str(p.hunks)] for p in r.patches]
    footer = [f"added to the series: {', '.join(r.added_files)}"] if r.added_files else []
    if r.dropped_files:
        footer.append(f"back to their original, dropped from the series: {', '.join(r.dropped_files)}")
    for shared in r.shared:
        footer.append(
            f"wrote {shared.path} back to {shared.source}, the one source of it: this changes every series that"
            f" installs it ({', '.join(shared.installed_by)})"
        )
    footer.append(f"rewrote {len(r.patches)} patch files in {r.series_dir}")
    table = Table("patches", ["patch", "component", "files", "hunks"], rows, keep=("patch",))
    return Output([f"series: {r.series}"], [table], footer)


def _port(r: Any, verbose: bool, program: str) -> Output:
    rows = [[f.path, f.patch, f.result, f"{f.hunks_clean}/{f.hunks}"] for f in r.files]
    claims = f", claiming {r.release}" if r.release and r.release != r.librechat_version else ""
    lines = [f"ported {r.source} (base {r.base_release}) to {r.librechat_version} as {r.new_series}{claims}"]
    footer = [f"{r.hunks_clean} of {r.hunks_total} hunks ported cleanly; new series in {r.series_dir}"]
    footer += list(r.notes)
    footer += [f"needs a human: {item}" for item in r.needs_human]
    table = Table("files", ["file", "patch", "result", "clean hunks"], rows, keep=("file", "patch"))
    return Output(lines, [table], footer)


_BUILDERS: dict[type, Callable[[Any, bool, str], Output]] = {
    ListReport: _list,
    StatusReport: _status,
    CheckReport: _check,
    ApplyReport: _apply,
    VerifyReport: _verify,
    RollbackReport: _rollback,
    RecoverReport: _recover,
    DoctorReport: _doctor,
    ProbeReport: _probe,
}


def _register_maintainer_reports() -> None:
    from .maintain import PortReport, RefreshReport
    from .matrix import MatrixReport
    from .upgrade import UpgradeReport

    _BUILDERS.update({MatrixReport: _matrix, RefreshReport: _refresh, PortReport: _port, UpgradeReport: _upgrade})
    _register_runtime_report()


def _register_runtime_report() -> None:
    from .runtime import RuntimeReport

    _BUILDERS[RuntimeReport] = _runtime


def _runtime(r: Any, verbose: bool, program: str) -> Output:
    """``verify --runtime`` / ``--url``: each built artifact, what the running server answers, the verdict."""
    lines = [f"checkout: {r.root}", f"series: {r.series or 'none'}"] if r.root else []
    tables = []
    if r.builds:
        rows = [[b.component, b.artifact or "-", b.state, b.detail] for b in r.builds]
        tables.append(Table("built artifacts", ["component", "artifact", "state", "found"], rows, keep=("state",)))
    if r.live is not None:
        lines += _live_lines(r.live)
    if r.ok:
        parts = ["every artifact LibreChat loads is built from the patched sources"] if r.builds else []
        parts += [f"{r.live.url} serves the feature"] if r.live else []
        footer = ["verified at runtime: " + "; ".join(parts)]
    elif r.rebuild:
        footer = [f"applied, not built: run {r.rebuild} in {r.root}, then restart LibreChat"]
    else:
        footer = [f"{r.live.url} does not run the series: rebuild the image or the checkout and restart LibreChat"]
    return Output(lines, tables, footer)


def _live_lines(live: Any) -> list[str]:
    return [
        f"server: {live.url}",
        f"route {FEATURE_ROUTE_SHOWN}: {live.route} ({live.detail})",
        f"client bundle served: {live.bundle} ({live.assets_read} scripts read)",
    ]


FEATURE_ROUTE_SHOWN = "POST /api/models/fetch"


def plain_text(output: Output) -> str:
    """The output as aligned plain lines (for a pipe, a file, a log)."""
    import io

    text = io.StringIO()
    write_plain(output, text)
    return text.getvalue()


def rich_text(output: Output, color: bool) -> str:
    """The output as drawn for this terminal (its width), with styles only when ``color``."""
    console = _console(color)
    with console.capture() as captured:
        write_rich(output, color, console)
    text: str = captured.get()
    return text


def _console(color: bool) -> Any:
    from rich.console import Console

    # no_color alone still draws bold and italic: without colour, no styles at all
    return Console(highlight=False) if color else Console(color_system=None, highlight=False)


def write_plain(output: Output, stream: TextIO) -> None:
    for line in output.lines:
        stream.write(line + "\n")
    for table in output.tables:
        if not table.rows:
            continue
        widths = [max(len(c), *(len(r[i]) for r in table.rows)) for i, c in enumerate(table.columns)]
        stream.write("  ".join(c.ljust(w) for c, w in zip(table.columns, widths, strict=False)).rstrip() + "\n")
        for row in table.rows:
            stream.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)).rstrip() + "\n")
    for line in output.footer:
        stream.write(line + "\n")


# The narrowest a wrapping column is drawn (in characters) when deciding what fits.
_NARROWEST = 8


def fit_columns(table: Table, width: int) -> tuple[list[int], bool]:
    """The columns to draw on a terminal ``width`` characters wide, and whether the ``keep`` columns fit whole."""
    full = [max(len(c), *(len(r[i]) for r in table.rows)) for i, c in enumerate(table.columns)]

    def needed(columns: list[int]) -> int:
        least = [full[i] if table.columns[i] in table.keep else min(full[i], _NARROWEST) for i in columns]
        return sum(least) + 3 * len(columns) + 1  # a space either side of each cell and the borders

    shown = list(range(len(table.columns)))
    for name in table.optional:
        if needed(shown) <= width:
            break
        if name in table.columns:
            shown.remove(table.columns.index(name))
    return shown, needed(shown) <= width


def write_rich(output: Output, color: bool, console: Any = None) -> None:
    """On a terminal: each table drawn to its width. A table whose kept columns (paths, series) do not fit
    whole even without its optional columns is written one row a line instead, the kept values first and
    whole (the terminal wraps what is longer than a line), every other value after them."""
    from rich.table import Table as RichTable
    from rich.text import Text

    console = console or _console(color)
    for line in output.lines:  # never broken by rich: a path or a command in it is copied whole
        console.print(line, markup=False, soft_wrap=True)
    for table in output.tables:
        if not table.rows:
            continue
        shown, whole = fit_columns(table, console.width)
        if not whole:
            _write_rows(table, console)
            continue
        drawn = RichTable(title=table.title)
        for i in shown:
            name = table.columns[i]
            if name in table.keep:
                widest = max(len(name), *(len(r[i]) for r in table.rows))
                drawn.add_column(name, no_wrap=True, min_width=widest)
            else:
                drawn.add_column(name, overflow="fold")  # wraps, and folds a long word rather than cut it
        for row in table.rows:
            drawn.add_row(*(Text(row[i]) for i in shown))
        console.print(drawn)
    for line in output.footer:
        console.print(line, markup=False, soft_wrap=True)


def _write_rows(table: Table, console: Any) -> None:
    kept = [i for i, name in enumerate(table.columns) if name in table.keep]
    others = [i for i in range(len(table.columns)) if i not in kept]

    def line(values: list[str]) -> str:
        rest = ", ".join(values[i] for i in others if values[i])
        return "  ".join(values[i] for i in kept) + (f"  {rest}" if rest else "")

    console.print(f"{table.title}: {line(table.columns)}", markup=False, soft_wrap=True)
    for row in table.rows:
        console.print(line(row), markup=False, soft_wrap=True)
