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


def test_what_cannot_stay_whole_wraps_rather_than_being_cut() -> None:
    path = "api/" + "very-long-folder-name/" * 5 + "file.js"  # wider than the terminal
    report = ApplyReport(
        Path("/srv"),
        "v0.8.3",
        SeriesChoice("s", "content", True, 1, 1),
        "applied",
        ("backend",),
        (FileResult(path, "backend", "modify", "pristine"),),
    )
    text = drawn(report, width=60)
    cells = "".join(line.split("│")[1].strip() for line in text.splitlines() if line.count("│") > 2)
    assert path in cells and "…" not in text
