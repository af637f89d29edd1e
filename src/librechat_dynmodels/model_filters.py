"""``models.include`` and ``models.exclude`` of a custom endpoint, judged by the checkout's own code.

The one definition of the rules is the feature's ``packages/data-provider/src/modelFilters.ts``, built into the
checkout's data provider (``packages/data-provider/dist``), which LibreChat runs at startup. ``doctor`` asks that
build through ``node`` (the driver ``filters.js`` beside this module): ``findModelPatternProblems`` for each
endpoint's patterns and ``filterModelList`` for the defaults its include patterns keep, all endpoints in one run.
Without ``node``, or without a built data provider that exports those functions, the patterns are not judged and
the answer says why and what to run. What needs no JavaScript is checked here: a value that is not a list of
strings, which LibreChat's schema refuses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from shlex import quote
from typing import Any

FILTER_KEYS = ("include", "exclude")
# The other keys the feature adds under ``models:`` (issue 28), judged by ``findModelsConfigProblems``.
META_KEYS = ("filters", "labels", "groupBy", "metadata")
DATA_PROVIDER = "packages/data-provider"
DRIVER = Path(__file__).with_name("filters.js")
RESULT_MARK = "LIBRECHAT_DYNMODELS_FILTERS_RESULT"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class FilterSet:
    """One endpoint's patterns (strings only) and its default models."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]
    defaults: tuple[str, ...]
    # ``META_KEYS`` as set, as JSON text (kept hashable)
    extra: str = "{}"


@dataclass(frozen=True)
class FilterVerdict:
    """``problems`` as modelFilters.ts words them; ``kept_defaults``: the defaults the include patterns keep
    (None without include patterns or with problems)."""

    problems: tuple[str, ...]
    kept_defaults: tuple[str, ...] | None


@dataclass(frozen=True)
class PatternCheck:
    """One verdict per :class:`FilterSet`, or none and ``unavailable``: why the patterns were not judged."""

    verdicts: tuple[FilterVerdict, ...]
    unavailable: str | None = None


def filter_set(models: Mapping[str, Any], defaults: Sequence[str]) -> FilterSet:
    def strings(key: str) -> tuple[str, ...]:
        value = models.get(key)
        return tuple(p for p in value if isinstance(p, str)) if isinstance(value, list) else ()

    extra = {key: models[key] for key in META_KEYS if key in models}
    return FilterSet(strings("include"), strings("exclude"), tuple(defaults), json.dumps(extra))


def structure_problems(models: Any) -> list[str]:
    """A value that is not a list of strings (LibreChat's schema refuses it); the patterns themselves are
    judged by :func:`check_patterns`."""
    problems: list[str] = []
    if not isinstance(models, Mapping):
        return problems
    for key in FILTER_KEYS:
        patterns = models.get(key)
        if patterns is None:
            continue
        if not isinstance(patterns, list):
            problems.append(f"models.{key} must be a list of patterns, not {_type_name(patterns)}")
            continue
        for pattern in patterns:
            if not isinstance(pattern, str):
                problems.append(f"models.{key} pattern {pattern!r}: not a string ({_type_name(pattern)})")
    return problems


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, str):
        return "a string"
    return "null" if value is None else type(value).__name__


def check_patterns(
    root: Path, sets: Sequence[FilterSet], environ: Mapping[str, str] | None = None, timeout: float = TIMEOUT_S
) -> PatternCheck:
    """Every set judged by the checkout's built data provider, in one ``node`` run."""
    if not sets:
        return PatternCheck(())
    environ = os.environ if environ is None else environ
    build = f"run 'npm run build:data-provider' in {quote(str(root))}"
    node = shutil.which("node", path=environ.get("PATH"))
    if node is None:
        reason = (
            "cannot check the patterns without Node.js (node is not on PATH): run doctor with LibreChat's node on PATH"
        )
        return PatternCheck((), reason)
    if not (root / DATA_PROVIDER / "dist").is_dir():
        return PatternCheck((), f"cannot check the patterns without the built data provider: {build}")
    payload = {
        "module": str(root / DATA_PROVIDER),
        "endpoints": [
            {"include": s.include, "exclude": s.exclude, "defaults": s.defaults, "extra": json.loads(s.extra)}
            for s in sets
        ],
    }
    try:
        done = run_driver(node, DRIVER, payload, root, environ, timeout)
    except subprocess.TimeoutExpired:
        return PatternCheck((), f"cannot check the patterns: the data provider did not answer within {timeout:g} s")
    except OSError as exc:
        return PatternCheck((), f"cannot check the patterns: cannot run {node}: {exc.strerror or exc}")
    result = result_line(done.stdout, RESULT_MARK)
    fatal = result.get("fatal") if result else "no result"
    if fatal == "no_export":
        return PatternCheck(
            (),
            "cannot check the patterns: the checkout's built data provider has no findModelPatternProblems "
            f"(not patched, or not built since): {build}",
        )
    if fatal:
        said = str((result or {}).get("detail") or "").strip() or _last_line(done.stderr)
        detail = f" ({said})" if said else ""
        return PatternCheck((), f"cannot check the patterns: the data provider cannot be loaded{detail}; {build}")
    assert result is not None
    verdicts = []
    for answer in result.get("results") or ():
        kept = answer.get("keptDefaults") if isinstance(answer, dict) else None
        problems = answer.get("problems") if isinstance(answer, dict) else None
        verdicts.append(
            FilterVerdict(
                tuple(str(p) for p in problems) if isinstance(problems, list) else (),
                tuple(str(m) for m in kept) if isinstance(kept, list) else None,
            )
        )
    if len(verdicts) != len(sets):
        return PatternCheck((), "cannot check the patterns: the data provider gave no answer for every endpoint")
    return PatternCheck(tuple(verdicts))


def run_driver(
    node: str, driver: Path, payload: Any, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    """A node driver of doctor's (this one, the probe's) given ``payload`` as JSON on stdin."""
    return subprocess.run(
        [node, str(driver)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env=dict(env),
        timeout=timeout,
    )


def result_line(stdout: str, mark: str) -> dict[str, Any] | None:
    """The JSON object of the last ``mark {json}`` line a node driver printed (doctor's and the probe's)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(mark + " "):
            try:
                found = json.loads(line[len(mark) + 1 :])
            except ValueError:
                return None
            return found if isinstance(found, dict) else None
    return None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
