"""Human output on a terminal: what an 80-column table keeps whole."""

from __future__ import annotations

import io
from pathlib import Path

from librechat_dynmodels import render
from librechat_dynmodels.matrix import STEPS, MatrixReport, MatrixRow
from librechat_dynmodels.models import ApplyReport, FileResult, SeriesChoice

LONG_PATHS = (
    "packages/data-provider/src/react-query/react-query-service.ts",
    "api/server/controllers/ModelController.js",
    "client/src/hooks/Input/useUserKey.ts",
)


def drawn(result: object, width: int = 80, verbose: bool = False) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=width, no_color=True, highlight=False)
    render.write_rich(render.describe(result, verbose), color=False, console=console)
    return out.getvalue()


def test_an_80_column_table_keeps_every_path_whole() -> None:
    files = tuple(FileResult(p, "data-provider", "modify", "partially patched") for p in LONG_PATHS)
    report = ApplyReport(
        Path("/srv/LibreChat"),
        "v0.8.3",
        SeriesChoice("dynmodels-v0.8.3", "content", True, 9, 9),
        "applied",
        ("backend", "data-provider", "client"),
        files,
        Path("/srv/LibreChat/.librechat-dynmodels"),
    )
    text = drawn(report)
    assert all(len(line) <= 80 for line in text.splitlines())
    for path in LONG_PATHS:
        assert path in text, text
    assert "partially" in text  # the state column stays; the component column made room


def test_an_80_column_matrix_keeps_every_series_whole() -> None:
    ok = dict.fromkeys(STEPS, "ok")
    rows = tuple(
        MatrixRow(tag, series, ok, 35, 2, 0)
        for tag, series in (("v0.8.8-rc1", "dynmodels-native-v0.8.8-rc1"), ("v0.7.5", "dynmodels-v0.7.5"))
    )
    report = MatrixReport(Path("/srv/LibreChat.git"), rows)
    for verbose in (False, True):
        text = drawn(report, verbose=verbose)
        assert all(len(line) <= 80 for line in text.splitlines())
        assert "dynmodels-native-v0.8.8-rc1" in text and "v0.8.8-rc1" in text, text
        assert "every step ok" in text or verbose  # -v adds step columns, so the result column wraps


def test_a_path_wider_than_the_terminal_is_written_whole_on_its_own_line() -> None:
    path = "api/" + "very-long-folder-name/" * 5 + "file.js"  # wider than the terminal
    report = ApplyReport(
        Path("/srv"),
        "v0.8.3",
        SeriesChoice("s", "content", True, 1, 1),
        "applied",
        ("backend",),
        (FileResult(path, "backend", "modify", "pristine"),),
    )
    lines = drawn(report, width=60).splitlines()
    assert "files: file  component, action, state before" in lines
    assert f"{path}  backend, modify, pristine" in lines


# Paths of the shipped v0.8.x series: its longest glue file and feature file.
GLUE = "client/src/components/Nav/SettingsTabs/Data/RevokeKeysButton.tsx"
FEATURE = "client/src/hooks/Config/__tests__/useUserModelsRefresh.spec.tsx"


def test_check_at_80_columns_keeps_the_path_whole_and_sums_up_the_feature_files() -> None:
    from librechat_dynmodels.models import CheckReport, HunkResult

    glue = FileResult(
        GLUE,
        "client",
        "modify",
        "pristine",
        tuple(HunkResult("0003-client-refresh-user-models.patch", GLUE, n, "@@", "exact") for n in (1, 2)),
    )
    feature = tuple(
        FileResult(path, "client", "create", "pristine", (HunkResult(f"feature/{path}", path, 1, "@@", "exact"),))
        for path in (FEATURE, "client/src/hooks/Config/useUserModelsRefresh.ts")
    )
    report = CheckReport(
        Path("/srv"), "v0.8.4", False, SeriesChoice("s", "content", True, 4, 4), True, "pristine", 0, (glue, *feature)
    )
    text = drawn(report, width=80)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    rows = [line for line in text.splitlines() if GLUE in line]
    assert len(rows) == 2 and "1 exact" in rows[0] and "2 exact" in rows[1], text
    assert FEATURE not in text and "useUserModelsRefresh.ts" not in text
    assert "installs 2 feature files: 2 new" in text.splitlines()
    wide = drawn(report, width=140)
    assert "0003-client-refresh-user-models.patch" in wide and GLUE in wide


def test_status_and_verify_at_60_columns_keep_every_path_whole() -> None:
    from librechat_dynmodels.models import StatusReport, VerifiedFile, VerifyReport

    files = (FileResult(GLUE, "client", "modify", "patched"), FileResult(FEATURE, "client", "create", "patched"))
    status = StatusReport(Path("/srv"), "v0.8.4", False, None, None, "patched", files)
    verify = VerifyReport(Path("/srv"), "dynmodels-v0.8.3", True, tuple(VerifiedFile(f.path, "ok") for f in files))
    for report, row in ((status, "  client, modify, patched"), (verify, "  ok")):
        lines = drawn(report, width=60).splitlines()
        assert f"{GLUE}{row}" in lines, lines
        assert any(line.startswith(f"{FEATURE}  ") for line in lines), lines
