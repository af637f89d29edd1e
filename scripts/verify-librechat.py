#!/usr/bin/env python3
"""Opt-in verification of the patch series on real LibreChat release trees.

For each release tag: export the tag from a LibreChat git mirror into a temporary directory,
install it (npm dependencies, package builds, test env files), run LibreChat's own suites for the
areas the feature touches and the client's `tsc --noEmit` as the baseline, apply the series with
this project's CLI, rebuild the packages, run the same suites again (now including the specs the
patches add), then roll back and check every target file is byte-identical to the release.

A release passes when no test that passed before fails after, every test the patches add passes,
`tsc` reports no error that the baseline does not have, `build:data-provider` succeeds, and the
rollback restores every byte. Counts per release are printed and written as JSON.

Never part of the default test command: it needs network access to an npm registry, about three
minutes and 1.6 GB per release for the install, and several minutes for the suites.

    python3 scripts/verify-librechat.py --git /path/to/LibreChat.git v0.8.3 v0.8.4 --client-build v0.8.4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_INSTALLER = PROJECT.parent / "shared" / "librechat-install.py"
SUITE_TIMEOUT = 45 * 60

# The areas the feature touches, per package, as jest path patterns relative to the package.
SUITES: dict[str, tuple[str, list[str]]] = {
    "api": ("api", ["server/services/Config", "server/controllers", "server/routes", "server/middleware", "cache"]),
    "data-provider": ("packages/data-provider", []),
    "client-hooks": ("client", ["src/hooks", "src/routes"]),
}
TSC_ERROR = re.compile(r"^(?P<file>[^(\s]+)\(\d+,\d+\): error (?P<code>TS\d+): (?P<message>.*)$")


class SuiteRun(NamedTuple):
    passed: int
    failed: int
    skipped: int
    results: dict[str, str]  # "spec file > full test name" -> passed | failed | pending | suite-failed


def run(
    cmd: list[str], cwd: Path, log: Path, timeout: int = SUITE_TIMEOUT, extra_env: dict[str, str] | None = None
) -> int:
    """Run a command with its output appended to a log; return its exit code."""
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ (cd {cwd} && {' '.join(cmd)})\n")
        out.flush()
        env = {**os.environ, "CI": "true", "NODE_OPTIONS": "--max-old-space-size=6144", **(extra_env or {})}
        try:
            return subprocess.run(
                cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            out.write(f"timed out after {timeout} s\n")
            return 124


# MongoDB is not available here: specs that start mongodb-memory-server fail before and after alike and
# take most of the time, so they are left out of both runs (the log names them).
NEEDS_MONGO = re.compile(rb"mongodb-memory-server|MongoMemoryServer")
SPEC_NAME = re.compile(r"\.(spec|test)\.[cm]?[jt]sx?$")


def specs_needing_mongo(package: Path, patterns: list[str]) -> list[str]:
    """Spec files under the suite's folders that start an in-memory MongoDB, relative to the package."""
    found = []
    for folder in [package / p for p in patterns] if patterns else [package]:
        for spec in folder.rglob("*") if folder.is_dir() else []:
            if "node_modules" in spec.parts or not SPEC_NAME.search(spec.name) or not spec.is_file():
                continue
            if NEEDS_MONGO.search(spec.read_bytes()):
                found.append(str(spec.relative_to(package)))
    return sorted(found)


def jest_command(report: Path, *args: str) -> list[str]:
    """A jest run with a JSON report: two workers, each replaced when it holds over 1 GB (in one process,
    what jest picks on two cores, the v0.8.8-rc1 api suites ran out of heap)."""
    return [
        "npx",
        "jest",
        "--ci",
        "--forceExit",
        "--json",
        f"--outputFile={report}",
        "--maxWorkers=2",
        "--workerIdleMemoryLimit=1GB",
        *args,
    ]


def jest(tree: Path, suite: str, report: Path, log: Path) -> SuiteRun:
    """Run one jest suite with a JSON report and read its results, test by test."""
    folder, patterns = SUITES[suite]
    report.unlink(missing_ok=True)
    mongo = specs_needing_mongo(tree / folder, patterns)
    # last on the command line: jest's array options take every argument after them
    ignore = (
        ["--testPathIgnorePatterns=/node_modules/", f"--testPathIgnorePatterns=/({'|'.join(map(re.escape, mongo))})$"]
        if mongo
        else []
    )
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n{len(mongo)} spec(s) need MongoDB and are left out: {' '.join(mongo)}\n")
    run(jest_command(report, *patterns, *ignore), tree / folder, log)
    return read_report(report, tree)


def read_report(report: Path, tree: Path) -> SuiteRun:
    """A jest --json report, test by test."""
    if not report.exists():
        return SuiteRun(0, 0, 0, {"(jest did not run)": "suite-failed"})
    data = json.loads(report.read_text(encoding="utf-8"))
    results: dict[str, str] = {}
    for spec in data.get("testResults", []):
        name = os.path.relpath(spec["name"], tree)
        assertions = spec.get("assertionResults") or []
        if not assertions and spec.get("status") == "failed":
            results[name] = "suite-failed"
        for test in assertions:
            results[f"{name} > {test['fullName']}"] = test["status"]
    return SuiteRun(
        data.get("numPassedTests", 0),
        data.get("numFailedTests", 0),
        data.get("numPendingTests", 0) + data.get("numTodoTests", 0),
        results,
    )


def tsc_errors(tree: Path, log: Path) -> list[str]:
    """The client's type errors, without positions (patched files shift lines)."""
    out = subprocess.run(
        ["npx", "tsc", "--noEmit"],
        cwd=tree / "client",
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        env={**os.environ, "NODE_OPTIONS": "--max-old-space-size=6144"},
    )
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"\n$ (cd {tree / 'client'} && npx tsc --noEmit)\n{out.stdout}{out.stderr}")
    return sorted(
        f"{m['file']}: {m['code']}: {m['message']}" for m in map(TSC_ERROR.match, out.stdout.splitlines()) if m
    )


def _spec(test: str) -> str:
    return test.split(" > ", 1)[0]


def compare(before: SuiteRun, after: SuiteRun) -> dict[str, Any]:
    """What changed between the unpatched and the patched run of one suite.

    Tests of spec files the patches add are the added tests. Specs that existed before are compared
    test by test, and also by their count of passing tests, because some of LibreChat's test names
    carry random numbers (banViolation) and differ from run to run.
    """
    old_specs = {_spec(t) for t in before.results}
    added = {t: s for t, s in after.results.items() if _spec(t) not in old_specs}
    passing: dict[bool, dict[str, int]] = {True: {}, False: {}}  # patched? -> spec -> passing tests
    for patched, run_ in ((False, before), (True, after)):
        for test, status in run_.results.items():
            if status == "passed":
                passing[patched][_spec(test)] = passing[patched].get(_spec(test), 0) + 1
    regressions = sorted(
        t
        for t, s in before.results.items()
        if s == "passed"
        and after.results.get(t) != "passed"
        and passing[True].get(_spec(t), 0) < passing[False].get(_spec(t), 0)
    )
    return {
        "before": before._asdict() | {"results": None},
        "after": after._asdict() | {"results": None},
        "added_tests": len(added),
        "added_failing": sorted(t for t, s in added.items() if s not in ("passed", "pending")),
        # specs of other releases skip here (`itOn(condition)`)
        "added_skipped": sorted(t for t, s in added.items() if s == "pending"),
        "regressions": regressions,
        "failing_in_both": sorted(
            t
            for t, s in after.results.items()
            if s in ("failed", "suite-failed") and before.results.get(t) in ("failed", "suite-failed")
        ),
    }


def recheck_alone(tree: Path, suite: str, cmp: dict[str, Any], report: Path, log: Path) -> None:
    """Run the spec files of the regressions again, on their own, on the patched tree.

    Some of LibreChat's specs fail now and then in a full run on the unpatched release too (v0.8.7's
    loadAsyncEndpoints loads the real @librechat/api past its mock under load). A test that passes
    when its spec file runs alone moves from `regressions` to `passes_alone`, and the report says so.
    """
    if not cmp["regressions"]:
        cmp["passes_alone"] = []
        return
    folder = tree / SUITES[suite][0]
    specs = sorted({os.path.relpath(tree / _spec(t), folder) for t in cmp["regressions"]})
    report.unlink(missing_ok=True)
    run(jest_command(report, *specs), folder, log)
    alone = read_report(report, tree).results
    cmp["passes_alone"] = [t for t in cmp["regressions"] if alone.get(t) == "passed"]
    cmp["regressions"] = [t for t in cmp["regressions"] if alone.get(t) != "passed"]


def tool(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "librechat_dynmodels", "--json", *args], capture_output=True, text=True, env=env
    )


def target_files(tree: Path) -> list[str]:
    status = json.loads(tool("status", str(tree)).stdout)
    return sorted(f["path"] for f in status["data"]["files"])


# sharp before 0.33 downloads libvips from github.com in its install script (v0.7.5-v0.7.7 lock 0.32.6).
# Where github.com cannot be reached, the install runs without scripts and node_modules gets the
# registry's prebuilt sharp 0.33.5 instead; package.json and the lock file stay as released.
PREBUILT_SHARP = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def install(tree: Path, installer: Path, log: Path) -> list[str] | None:
    """Install the tree; the workarounds this environment needed, or None when the install failed."""
    if run([sys.executable, str(installer), str(tree)], PROJECT, log) == 0:
        workarounds: list[str] = []
    elif "sharp" in log.read_text(encoding="utf-8", errors="replace")[-20000:]:
        no_scripts = {"npm_config_ignore_scripts": "true"}
        if run([sys.executable, str(installer), str(tree)], PROJECT, log, extra_env=no_scripts) != 0:
            return None
        if not swap_in_prebuilt_sharp(tree, log):
            return None
        workarounds = ["npm install without scripts; sharp 0.33.5 prebuilt in node_modules (libvips from github.com)"]
    else:
        return None
    mcp = tree / "packages" / "mcp"
    if (mcp / "package.json").exists() and not (mcp / "dist").exists():  # v0.7.6-v0.7.8: api/config loads it
        if run(["npm", "run", "build:mcp"], tree, log) != 0:
            return None
        workarounds.append("npm run build:mcp (the installer does not build packages/mcp)")
    return workarounds + repair_agents(tree, log)


def repair_agents(tree: Path, log: Path) -> list[str]:
    """Mend an @librechat/agents build from the registry that the release's code or jest cannot load.

    v0.8.5 pins agents 3.1.68, which the registry lacks; the installer's 3.1.77 pins @langchain/core 1.1.44
    while its ^-ranged @langchain packages now resolve to releases that need core 1.3, and its
    @mistralai/mistralai 2.x is ESM only, which jest's CommonJS runtime cannot parse. v0.8.8-rc1's
    packages/api imports ASK_USER_QUESTION_ID_PATTERN, which the registry's agents build does not export.
    """
    agents = tree / "node_modules" / "@librechat" / "agents"
    repairs = []
    core = agents / "node_modules" / "@langchain" / "core"
    loads = ["node", "-e", "require('@librechat/agents')"]
    if core.is_dir() and run(loads, tree / "api", log) != 0:
        if (
            put_packages(agents / "node_modules", {"@langchain/core": "@langchain/core@1.3.5"}, log)
            and run(loads, tree / "api", log) == 0
        ):
            repairs.append("@librechat/agents: nested @langchain/core -> 1.3.5 (its @langchain packages need >= 1.3)")
    mistral = agents / "node_modules" / "@mistralai" / "mistralai"
    manifest = mistral / "package.json"
    if manifest.exists() and json.loads(manifest.read_text(encoding="utf-8")).get("type") == "module":
        if put_packages(agents / "node_modules", {"@mistralai/mistralai": "@mistralai/mistralai@1.15.1"}, log):
            repairs.append("@librechat/agents: nested @mistralai/mistralai (ESM only) -> 1.15.1 (CommonJS, for jest)")
    main = agents / "dist" / "cjs" / "main.cjs"
    hitl = tree / "packages" / "api" / "src" / "agents" / "hitl" / "askUserQuestionTool.ts"
    pattern = "ASK_USER_QUESTION_ID_PATTERN"
    if (
        hitl.exists()
        and pattern in hitl.read_text(encoding="utf-8")
        and pattern not in main.read_text(encoding="utf-8")
    ):
        with main.open("a", encoding="utf-8") as out:
            out.write(f"\nexports.{pattern} = /^[A-Za-z0-9_-]{{1,64}}$/;\n")
        repairs.append(f"@librechat/agents main.cjs: {pattern} export added (the registry build lacks it)")
    return repairs


def swap_in_prebuilt_sharp(tree: Path, log: Path) -> bool:
    arch = PREBUILT_SHARP.get(os.uname().machine)
    if arch is None:
        return False
    packages = {
        "sharp": "sharp@0.33.5",
        f"@img/sharp-linux-{arch}": f"@img/sharp-linux-{arch}@0.33.5",
        f"@img/sharp-libvips-linux-{arch}": f"@img/sharp-libvips-linux-{arch}@1.0.4",
        "sharp/node_modules/detect-libc": "detect-libc@2.0.3",
    }
    if not put_packages(tree / "node_modules", packages, log):
        return False
    check = ["node", "-e", "require('sharp')"]
    return run(check, tree / "api", log) == 0


def put_packages(node_modules: Path, packages: dict[str, str], log: Path) -> bool:
    """Put the registry's tarball of each spec in its folder under node_modules (replacing what is there)."""
    with tempfile.TemporaryDirectory() as packed:
        if run(["npm", "pack", "--silent", *packages.values()], Path(packed), log) != 0:
            return False
        tarballs = sorted(Path(packed).glob("*.tgz"))
        for folder, spec in packages.items():
            name = spec.rsplit("@", 1)[0].lstrip("@").replace("/", "-")
            tarball = next((t for t in tarballs if t.name.startswith(name + "-")), None)
            if tarball is None:
                return False
            target = node_modules / folder
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            subprocess.run(["tar", "-xzf", str(tarball), "-C", str(target), "--strip-components=1"], check=True)
    return True


def differs_from_release(mirror: Path, tag: str, tree: Path, files: list[str]) -> list[str]:
    """The files whose bytes on disk are not the release's (a file the release lacks must be absent)."""
    changed = []
    for path in files:
        original = subprocess.run(
            ["git", f"--git-dir={mirror}", "cat-file", "blob", f"{tag}:{path}"], capture_output=True
        )
        on_disk = (tree / path).read_bytes() if (tree / path).exists() else None
        if (original.stdout if original.returncode == 0 else None) != on_disk:
            changed.append(path)
    return changed


def reuse_tree(mirror: Path, tag: str, tree: Path, log: Path) -> dict[str, Any]:
    """An installed tree from an earlier run: roll back whatever this tool applied there (a checkout
    patched by an earlier catalog, say) and check it is the release again, byte for byte."""
    result: dict[str, Any] = {"reused_tree": str(tree)}
    if (tree / ".librechat-dynmodels").exists():
        files = target_files(tree)
        rolled = tool("rollback", str(tree))
        result["earlier_rollback_exit"] = rolled.returncode
        result["earlier_rollback_differs"] = differs_from_release(mirror, tag, tree, files)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"\n$ librechat-dynmodels rollback {tree}\n{rolled.stdout}{rolled.stderr}")
        if rolled.returncode != 0 or result["earlier_rollback_differs"]:
            return result | {"ok": False, "error": "rolling back the earlier apply failed"}
        if run(["npm", "run", "build:data-provider"], tree, log) != 0:
            return result | {"ok": False, "error": "build:data-provider failed on the rolled-back tree"}
    return result


def verify_release(
    mirror: Path,
    tag: str,
    work: Path,
    installer: Path,
    client_build: bool,
    trees: Path | None = None,
    baseline_only: bool = False,
    suites: tuple[str, ...] = tuple(SUITES),
) -> dict[str, Any]:
    log = work / f"{tag}.log"
    result: dict[str, Any] = {"tag": tag, "log": str(log)}
    started = time.monotonic()
    reuse = trees is not None and (trees / tag / "node_modules").is_dir()
    if trees is not None and reuse:
        tree = trees / tag
        result |= reuse_tree(mirror, tag, tree, log)
        if result.get("ok") is False:
            return result
        workarounds: list[str] | None = (
            json.loads((tree / ".installed").read_text()) if (tree / ".installed").exists() else []
        )
    else:
        tree = work / tag
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", f"--git-dir={mirror}", "archive", tag], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        workarounds = install(tree, installer, log)
    if workarounds is None:
        return result | {"ok": False, "error": "install failed (see log)"}
    install_record = tree / ".librechat-install.json"
    result["substitutions"] = json.loads(install_record.read_text()) if install_record.exists() else []
    result["install_workarounds"] = workarounds

    reports = work / f"{tag}-reports"
    reports.mkdir(exist_ok=True)
    baseline = {}
    for suite in suites:
        report = reports / f"{suite}-before.json"
        baseline[suite] = read_report(report, tree) if reuse and report.exists() else jest(tree, suite, report, log)
    with_client = "client-hooks" in suites
    tsc_record = reports / "tsc-before.json"
    if not with_client:
        tsc_before = []
    elif reuse and tsc_record.exists():
        tsc_before = json.loads(tsc_record.read_text(encoding="utf-8"))
    else:
        tsc_before = tsc_errors(tree, log)
        tsc_record.write_text(json.dumps(tsc_before), encoding="utf-8")
    if baseline_only:
        return result | {
            "ok": True,
            "baseline_only": True,
            "baseline": {k: v._asdict() | {"results": None} for k, v in baseline.items()},
        }

    applied = tool("apply", str(tree))
    result["apply"] = json.loads(applied.stdout) if applied.stdout else {"stderr": applied.stderr}
    if applied.returncode != 0:
        return result | {"ok": False, "error": f"apply exited {applied.returncode}"}
    result["build_data_provider"] = run(["npm", "run", "build:data-provider"], tree, log) == 0
    files = target_files(tree)
    if any(path.startswith("packages/api/") for path in files):
        result["build_api"] = run(["npm", "run", "build:api"], tree, log) == 0

    result["suites"] = {
        suite: compare(baseline[suite], jest(tree, suite, reports / f"{suite}-after.json", log)) for suite in suites
    }
    for suite, cmp in result["suites"].items():
        recheck_alone(tree, suite, cmp, reports / f"{suite}-alone.json", log)
    tsc_after = tsc_errors(tree, log) if with_client else []
    result["tsc"] = {
        "checked": with_client,
        "before": len(tsc_before),
        "after": len(tsc_after),
        "new_errors": sorted(set(tsc_after) - set(tsc_before)),
    }
    if client_build:
        result["client_build"] = run(["npm", "run", "frontend"], tree, log) == 0

    result["verify_exit"] = tool("verify", str(tree)).returncode
    result["rollback_exit"] = tool("rollback", str(tree)).returncode
    changed = differs_from_release(mirror, tag, tree, files)
    result["rollback_differs"] = changed
    result["seconds"] = round(time.monotonic() - started)
    result["ok"] = (
        result["build_data_provider"]
        and result.get("build_api", True)
        and result.get("client_build", True)
        and result["verify_exit"] == 0
        and result["rollback_exit"] == 0
        and not changed
        and not result["tsc"]["new_errors"]
        and all(not s["regressions"] and not s["added_failing"] for s in result["suites"].values())
    )
    return result


def summary_line(result: dict[str, Any]) -> str:
    if result.get("baseline_only"):
        counts = "; ".join(f"{k} {v['passed']}/{v['failed']}/{v['skipped']}" for k, v in result["baseline"].items())
        return f"{result['tag']}: baseline: {counts}"
    if "suites" not in result:
        return f"{result['tag']}: FAILED: {result.get('error')}"
    parts = []
    for suite, cmp in result["suites"].items():
        b, a = cmp["before"], cmp["after"]
        parts.append(
            f"{suite} {b['passed']}/{b['failed']}/{b['skipped']} -> {a['passed']}/{a['failed']}/{a['skipped']}"
            f" (+{cmp['added_tests']} new, {len(cmp.get('added_skipped', []))} of them skipped here,"
            f" {len(cmp['added_failing'])} failing, {len(cmp['regressions'])} regressions"
            + (f", {len(cmp['passes_alone'])} failed in the full run and pass alone" if cmp.get("passes_alone") else "")
            + ")"
        )
    tsc = result["tsc"]
    if tsc.get("checked", True):
        parts.append(f"tsc {tsc['before']} -> {tsc['after']} errors ({len(tsc['new_errors'])} new)")
    if "client_build" in result:
        parts.append(f"client build {'ok' if result['client_build'] else 'FAILED'}")
    parts.append(f"rollback {'byte-identical' if not result['rollback_differs'] else 'DIFFERS'}")
    if "earlier_rollback_exit" in result:
        parts.append("earlier apply rolled back byte-identical")
    if result.get("install_workarounds"):
        parts.append("install: " + "; ".join(result["install_workarounds"]))
    return f"{result['tag']}: {'ok' if result['ok'] else 'FAILED'}: " + "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tags", nargs="*", help="release tags (default: every tag the catalog names)")
    parser.add_argument("--git", type=Path, default=os.environ.get("LIBRECHAT_GIT"), help="LibreChat git mirror")
    parser.add_argument("--installer", type=Path, default=DEFAULT_INSTALLER)
    parser.add_argument(
        "--client-build",
        action="append",
        default=[],
        metavar="TAG",
        help="also build the client (npm run frontend) on this tag",
    )
    parser.add_argument("--work", type=Path, help="keep trees and logs here instead of a temporary directory")
    parser.add_argument(
        "--trees",
        type=Path,
        help="reuse installed trees at TREES/TAG (rolled back first if this tool applied anything there)"
        " and the baseline reports an earlier run left in --work",
    )
    parser.add_argument("--baseline-only", action="store_true", help="stop after the unpatched baseline")
    parser.add_argument(
        "--suites",
        default=",".join(SUITES),
        help=f"comma-separated suites to run (default: all of {', '.join(SUITES)}; tsc runs with client-hooks)",
    )
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    args = parser.parse_args()
    suites = tuple(name for name in args.suites.split(",") if name)
    unknown = [name for name in suites if name not in SUITES]
    if unknown or not suites:
        parser.error(f"unknown suite(s): {', '.join(unknown) or '(none)'}; known: {', '.join(SUITES)}")
    if not args.git:
        parser.error("no mirror: pass --git or set LIBRECHAT_GIT")
    catalog = json.loads(tool("list").stdout)["data"]["series"]
    tags = args.tags or sorted({tag for series in catalog for tag in series["librechat"]})
    work = args.work or Path(tempfile.mkdtemp(prefix="dynmodels-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    for tag in tags:
        result = verify_release(
            args.git.resolve(),
            tag,
            work,
            args.installer.resolve(),
            tag in args.client_build,
            args.trees,
            args.baseline_only,
            suites,
        )
        results.append(result)
        print(summary_line(result), flush=True)
        if not args.work and not result.get("reused_tree"):
            shutil.rmtree(work / tag, ignore_errors=True)
    report = args.report or work / "verify-report.json"
    report.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"report: {report}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
