#!/usr/bin/env python3
"""Time `check` and `apply`+`rollback` on a release tree, side by side with `git apply --check`,
GNU `patch --dry-run`, `git apply` and `git apply -R` over the same diffs, and the floor of this stack
(`python -c "import typer"`). `apply` writes every file, backup and its manifest durably (each temporary
file synced in one pass before any is renamed); `git apply` syncs nothing.

The tree is exported from $LIBRECHAT_GIT (the newest release the catalog names, or --tag), else a
synthetic tree of the same size is built from the series' own hunks. Prints medians and ratios.

    python scripts/bench.py [--runs 15] [--tag v0.8.4] [--series ID]

`--scale N` instead times planning one file of N hunks and of 2N (the whole `check`, in this process:
reading the catalog, parsing the patch, locating every hunk), and prints the two times and their ratio,
which is about 2 while planning stays linear in the hunks of a file (4 if it were quadratic).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from librechat_dynmodels.catalog import Catalog, Series, load_catalog  # noqa: E402


def export(mirror: str, tag: str, into: Path) -> None:
    data = subprocess.run(["git", "--git-dir", mirror, "archive", tag], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="tar")


def synthetic_tree(series: Series, into: Path, files: int = 2300) -> None:
    """A tree where every hunk applies exactly: the hunks' old lines at their line numbers, filler
    around them, plus enough unrelated files to match a release tree's size."""
    into.mkdir(parents=True)
    (into / "package.json").write_text('{"name": "LibreChat", "version": "v0.0.0-synthetic"}\n')
    for folder in ("api", "client", "packages/data-provider"):
        (into / folder).mkdir(parents=True, exist_ok=True)
    for entry in series.patches:
        for file_patch in series.file_patches(entry):
            if file_patch.is_new:
                continue
            lines: list[str] = []
            for hunk in file_patch.hunks:
                while len(lines) < hunk.old_start - 1:
                    lines.append(f"// filler line {len(lines) + 1}")
                lines.extend(hunk.old_lines)
            lines.extend(f"// trailing filler {i}" for i in range(40))
            target = into / file_patch.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("\n".join(lines) + "\n")
    for i in range(files):
        target = into / "api" / "filler" / f"d{i // 100}" / f"f{i}.js"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"module.exports = {i};\n" * 200)


def median_ms(action: Callable[[], object], runs: int, reset: Callable[[], object] | None = None) -> float:
    """The median of ``runs`` timed calls, after one untimed call (it writes the bytecode caches)."""
    if reset:
        reset()
    action()
    samples = []
    for _ in range(runs):
        if reset:
            reset()
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(cmd: list[str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True)
    if done.returncode not in ok:
        raise SystemExit(f"bench: {' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-400:]}")


def one_file_series(work: Path, hunks: int) -> tuple[Path, Path]:
    """A checkout with one file of ``hunks`` * 10 lines and a catalog whose series changes every
    tenth line of it (one hunk each, 3 lines of context)."""
    tree, catalog = work / f"tree-{hunks}", work / f"catalog-{hunks}"
    for folder in ("api", "client", "packages/data-provider"):
        (tree / folder).mkdir(parents=True)
    (tree / "package.json").write_text('{"name": "LibreChat", "version": "v0.0.0-scale"}\n')
    old = [f"const line{i} = {i};" for i in range(hunks * 10)]
    (tree / "api" / "big.js").write_text("\n".join(old) + "\n")
    sections = ["diff --git a/api/big.js b/api/big.js\n--- a/api/big.js\n+++ b/api/big.js\n"]
    for first in range(2, hunks * 10, 10):
        body = [f" {old[i]}" for i in range(first, first + 3)]
        body += [f"-{old[first + 3]}", f"+const line{first + 3} = -{first + 3};"]
        body += [f" {old[i]}" for i in range(first + 4, first + 7)]
        sections.append(f"@@ -{first + 1},7 +{first + 1},7 @@\n" + "\n".join(body) + "\n")
    series = catalog / "scale"
    series.mkdir(parents=True)
    (series / "0001-backend.patch").write_text("".join(sections))
    (series / "series.yaml").write_text(
        'id: scale\nlibrechat: ["v0.0.0-scale"]\npatches:\n  - file: 0001-backend.patch\n    component: backend\n'
    )
    return tree, catalog


def scale(hunks: int, runs: int) -> int:
    from librechat_dynmodels import engine
    from librechat_dynmodels.checkout import find_checkout

    work = Path(tempfile.mkdtemp(prefix="dynmodels-bench-scale-"))
    try:
        timings = []
        for count in (hunks, 2 * hunks):
            tree, catalog_dir = one_file_series(work, count)
            checkout = find_checkout(tree)

            def plan(checkout: object = checkout, catalog_dir: Path = catalog_dir) -> None:
                report = engine.check(checkout, load_catalog(catalog_dir), engine.Options(series_id="scale"))
                assert report.ok and len(report.files[0].hunks) == count

            timings.append((count, median_ms(plan, runs)))
        print(f"planning one file (check, in process), python {sys.version.split()[0]}, median of {runs} runs")
        for count, ms in timings:
            print(f"{count:7d} hunks {ms:10.1f} ms")
        ratio = timings[1][1] / timings[0][1]
        print(f"ratio {timings[1][0]}/{timings[0][0]} hunks: {ratio:.2f}x (linear: about 2, quadratic: about 4)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--tag")
    parser.add_argument("--series")
    parser.add_argument("--scale", type=int, metavar="N", help="time planning N and 2N hunks of one file instead")
    args = parser.parse_args()
    if args.scale:
        return scale(args.scale, args.runs)

    catalog: Catalog = load_catalog(ROOT / "patches")
    mirror = os.environ.get("LIBRECHAT_GIT")
    tags = sorted({t for s in catalog.series.values() for t in s.librechat if not s.native})
    tag = args.tag or (tags[-1] if tags else None)
    series = catalog.get(args.series) if args.series else next(s for s in catalog.series.values() if tag in s.librechat)
    work = Path(tempfile.mkdtemp(prefix="dynmodels-bench-"))
    tree = work / "tree"
    try:
        if mirror and tag:
            export(mirror, tag, tree)
            source = f"{tag} exported from LIBRECHAT_GIT"
        else:
            synthetic_tree(series, tree)
            source = "synthetic tree (LIBRECHAT_GIT unset)"
        diff = work / "series.diff"
        diff.write_text("".join((series.directory / p.file).read_text() for p in series.patches))
        hunks = sum(len(fp.hunks) for p in series.patches for fp in series.file_patches(p))
        files = len({fp.path for p in series.patches for fp in series.file_patches(p)})
        tool = [sys.executable, "-m", "librechat_dynmodels", "-q"]
        env_note = f"python {sys.version.split()[0]}"
        os.environ["PYTHONPATH"] = str(ROOT / "src")
        # An installed tool runs from cached bytecode; a shell with this set would time the compiler instead.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

        results = {
            "python -c 'import typer' (floor)": median_ms(
                lambda: run([sys.executable, "-c", "import typer"]), args.runs
            ),
            "bare python start": median_ms(lambda: run([sys.executable, "-c", "pass"]), args.runs),
            "git apply --check": median_ms(lambda: run(["git", "apply", "--check", str(diff)], cwd=tree), args.runs),
            "patch --dry-run": median_ms(
                lambda: run(["patch", "-p1", "--dry-run", "-s", "-i", str(diff)], cwd=tree), args.runs
            ),
            "librechat-dynmodels check": median_ms(
                lambda: run([*tool, "check", "--series", series.id, str(tree)]), args.runs
            ),
            "librechat-dynmodels check (choose series)": median_ms(lambda: run([*tool, "check", str(tree)]), args.runs),
        }
        apply_ms = []
        rollback_ms = []
        for _ in range(max(3, args.runs // 3)):
            start = time.perf_counter()
            run([*tool, "apply", "--series", series.id, str(tree)])
            apply_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            run([*tool, "rollback", str(tree)])
            rollback_ms.append((time.perf_counter() - start) * 1000)
        results["librechat-dynmodels apply"] = statistics.median(apply_ms)
        results["librechat-dynmodels rollback"] = statistics.median(rollback_ms)
        # the same diffs written by git (no backups, no manifest, no fsync), then taken back
        git_apply_ms, git_reverse_ms = [], []
        for _ in range(max(3, args.runs // 3)):
            start = time.perf_counter()
            run(["git", "apply", str(diff)], cwd=tree)
            git_apply_ms.append((time.perf_counter() - start) * 1000)
            start = time.perf_counter()
            run(["git", "apply", "-R", str(diff)], cwd=tree)
            git_reverse_ms.append((time.perf_counter() - start) * 1000)
        results["git apply"] = statistics.median(git_apply_ms)
        results["git apply -R"] = statistics.median(git_reverse_ms)

        floor = results["python -c 'import typer' (floor)"]
        print(f"tree: {source}; series {series.id}: {hunks} hunks over {files} files; {env_note}; {args.runs} runs")
        print(f"{'what':45} {'median ms':>10} {'x typer floor':>14}")
        for name, value in results.items():
            print(f"{name:45} {value:10.1f} {value / floor:14.2f}")
        # The ratio again from back-to-back pairs (floor, check), so that load from other processes
        # falls on both sides of each ratio alike.
        pair_ratios = []
        for _ in range(args.runs):
            start = time.perf_counter()
            run([sys.executable, "-c", "import typer"])
            middle = time.perf_counter()
            run([*tool, "check", "--series", series.id, str(tree)])
            pair_ratios.append((time.perf_counter() - middle) / (middle - start))
        paired = statistics.median(pair_ratios)
        print(f"{'check / floor, median of back-to-back pairs':45} {'':10} {paired:14.2f}")
        check = results["librechat-dynmodels check"]
        print(
            f"target: check within 2x the floor: {check:.1f} ms, {check / floor:.2f}x "
            f"(paired {paired:.2f}x) -> {'met' if paired <= 2.0 else 'NOT met'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
