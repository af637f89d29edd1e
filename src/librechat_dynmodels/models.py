"""Result objects: what every command returns, for the table renderer and ``--json`` alike."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from pathlib import Path
from typing import Any


def to_jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value) if not f.name.startswith("_")}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


class Result:
    def to_dict(self) -> dict[str, Any]:
        data = to_jsonable(self)
        assert isinstance(data, dict)
        return data


@dataclass(frozen=True)
class HunkResult(Result):
    patch: str
    path: str
    index: int
    header: str
    status: str  # exact | offset | fuzz | already applied | fails | ambiguous
    offset: int = 0
    fuzz: int = 0
    first_difference: int | None = None
    expected_line: str | None = None
    actual_line: str | None = None

    @property
    def ok(self) -> bool:
        return self.status not in ("fails", "ambiguous")

    def describe(self) -> str:
        if self.status == "offset":
            return f"offset {self.offset:+d}"
        if self.status == "fuzz":
            return f"fuzz {self.fuzz}" + (f", offset {self.offset:+d}" if self.offset else "")
        if self.status == "fails" and self.first_difference is not None:
            expected = "end of file" if self.expected_line is None else repr(self.expected_line)
            found = "end of file" if self.actual_line is None else repr(self.actual_line)
            return f"fails at line {self.first_difference}: expected {expected}, found {found}"
        if self.status == "fails" and self.expected_line == "(the file)":
            return "fails: the file is missing"
        if self.status == "ambiguous":
            return "ambiguous (matches two places equally well)"
        return self.status


@dataclass(frozen=True)
class FileResult(Result):
    path: str
    component: str
    action: str  # modify | create | delete
    state: str  # pristine | patched | partially patched | drifted | missing | fails
    hunks: tuple[HunkResult, ...] = ()
    uncommitted: bool | None = None


@dataclass(frozen=True)
class SeriesChoice(Result):
    id: str
    reason: str  # "--series", "state directory", "content"
    targets_version: bool  # the series names the checkout's release
    hunks_ok: int
    hunks_total: int


@dataclass(frozen=True)
class SeriesInfo(Result):
    id: str
    description: str
    librechat: tuple[str, ...]
    native: bool
    requires: tuple[str, ...]
    components: tuple[str, ...]
    patches: tuple[str, ...]


@dataclass(frozen=True)
class ListReport(Result):
    catalog: Path
    series: tuple[SeriesInfo, ...]


@dataclass(frozen=True)
class StatusReport(Result):
    root: Path
    librechat_version: str | None
    native_support: bool
    native_evidence: str | None
    series: SeriesChoice | None
    state: str  # pristine | patched | partially patched | drifted | unknown
    files: tuple[FileResult, ...]
    applied_at: str | None = None
    components: tuple[str, ...] = ()
    interrupted_operation: str | None = None
    git_worktree: bool = False
    message: str | None = None


@dataclass(frozen=True)
class CheckReport(Result):
    root: Path
    librechat_version: str | None
    native_support: bool
    series: SeriesChoice
    ok: bool
    state: str
    fuzz: int
    files: tuple[FileResult, ...]


@dataclass(frozen=True)
class ApplyReport(Result):
    root: Path
    librechat_version: str | None
    series: SeriesChoice
    outcome: str  # applied | already applied | would apply
    components: tuple[str, ...]
    files: tuple[FileResult, ...]
    state_dir: Path | None = None
    diff: str | None = None  # --dry-run: the unified diff it would write
    rolled_back_first: bool = False


@dataclass(frozen=True)
class VerifiedFile(Result):
    path: str
    state: str  # ok | drifted | missing
    diff: str | None = None


@dataclass(frozen=True)
class VerifyReport(Result):
    root: Path
    series: str
    ok: bool
    files: tuple[VerifiedFile, ...]


@dataclass(frozen=True)
class RollbackReport(Result):
    root: Path
    outcome: str  # rolled back | nothing to roll back
    series: str | None = None
    restored: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    kept_edited: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RecoverReport(Result):
    root: Path
    outcome: str  # nothing to recover | undid interrupted apply | finished interrupted rollback
    restored: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    kept_edited: tuple[str, ...] = ()
