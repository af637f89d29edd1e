"""Result objects: what every command returns, for the table renderer and ``--json`` alike."""

from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from .errors import Hint

# The result types are NamedTuples: immutable like frozen dataclasses, and several times cheaper
# to define, which matters for a command whose whole run is ~100 ms of start-up.


def to_jsonable(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: to_jsonable(v) for k, v in value._asdict().items()}
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):  # without importing dataclasses
        names = [name for name in value.__dataclass_fields__ if not name.startswith("_")]
        return {name: to_jsonable(getattr(value, name)) for name in names}
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
    """Base of dataclass results (NamedTuple results are serialised by ``to_jsonable`` alike)."""

    def to_dict(self) -> dict[str, Any]:
        data = to_jsonable(self)
        assert isinstance(data, dict)
        return data


class HunkResult(NamedTuple):
    patch: str
    path: str
    number: int  # 1-based within its file
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

    def summary(self) -> str:
        """``hunk N of PATCH RESULT``, the way every error names a hunk."""
        return f"hunk {self.number} of {self.patch.rsplit('/', 1)[-1]} {self.describe()}"

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


class FileResult(NamedTuple):
    path: str
    component: str
    action: str  # modify | create | delete
    state: str  # pristine | patched | partially patched | drifted | missing | fails
    hunks: tuple[HunkResult, ...] = ()
    uncommitted: bool | None = None


class SeriesChoice(NamedTuple):
    id: str
    reason: str  # "--series", "state directory", "content"
    targets_version: bool  # the series names the checkout's release
    hunks_ok: int
    hunks_total: int


class SeriesInfo(NamedTuple):
    id: str
    description: str
    librechat: tuple[str, ...]
    native: bool
    requires: tuple[str, ...]
    components: tuple[str, ...]
    patches: tuple[str, ...]


class ListReport(NamedTuple):
    catalog: Path
    series: tuple[SeriesInfo, ...]
    releases: tuple[str, ...] = ()  # every release a series names, oldest first


class StatusReport(NamedTuple):
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
    build: str | None = None  # "out of date" when a dist LibreChat loads is older than the patched sources
    hint: Hint | None = None  # no series fits whole: the command that applies the components that do


class CheckReport(NamedTuple):
    root: Path
    librechat_version: str | None
    native_support: bool
    series: SeriesChoice
    ok: bool
    state: str
    fuzz: int
    files: tuple[FileResult, ...]
    hint: Hint | None = None  # the series does not apply: the command that applies the components that do


class ApplyReport(NamedTuple):
    root: Path
    librechat_version: str | None
    series: SeriesChoice
    outcome: str  # applied | already applied | would apply
    components: tuple[str, ...]
    files: tuple[FileResult, ...]
    state_dir: Path | None = None
    diff: str | None = None  # --dry-run: the unified diff it would write
    rolled_back_first: bool = False
    lock_left: str | None = None  # the lock could not be removed at the end (why, and what to do)
    next_steps: tuple[str, ...] = ()  # what to rebuild and restart so LibreChat runs what was applied


class VerifiedFile(NamedTuple):
    path: str
    state: str  # ok | drifted | missing
    diff: str | None = None


class VerifyReport(NamedTuple):
    root: Path
    series: str
    ok: bool
    files: tuple[VerifiedFile, ...]


class RollbackReport(NamedTuple):
    root: Path
    outcome: str  # rolled back | nothing to roll back
    series: str | None = None
    restored: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    kept_edited: tuple[str, ...] = ()
    left_as_released: tuple[str, ...] = ()  # the checkout was upgraded since apply: these are the new release's
    lock_left: str | None = None  # the lock could not be removed at the end (why, and what to do)


class RecoverReport(NamedTuple):
    root: Path
    outcome: str  # nothing to recover | undid interrupted apply | finished interrupted rollback
    restored: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    kept_edited: tuple[str, ...] = ()
    lock_left: str | None = None  # the lock could not be removed at the end (why, and what to do)


class Finding(NamedTuple):
    """One thing ``doctor`` found: a ``blocker`` stops the feature, a ``warning`` does not."""

    severity: str  # blocker | warning
    code: str
    message: str
    endpoint: str | None = None  # the custom endpoint it is about, if any
    path: str | None = None  # the file it is about, if any
    line: int | None = None  # 1-based, for YAML errors
    column: int | None = None


class EndpointCheck(NamedTuple):
    name: str
    eligible: bool  # models.fetch is true, apiKey or baseURL is "user_provided", and nothing blocks it
    fetch: bool
    user_provided: tuple[str, ...]  # "apiKey", "baseURL"
    defaults: tuple[str, ...]
    reasons: tuple[str, ...]  # codes of the findings about this endpoint


class PatchCheck(NamedTuple):
    native_support: bool
    native_evidence: str | None
    state: str  # the state `status` reports, or "native" on releases that need no patches
    series: str | None
    applied: bool  # applied by this tool (a manifest exists)
    verified: bool | None  # every patched file still matches the manifest; None: not checked
    components: tuple[str, ...] = ()
    patched_files: tuple[str, ...] = ()  # the files `status` found patched (what the builds are judged against)
    apply_command: str | None = None  # nothing applied: the apply that succeeds here (whole, or what fits); None: none


class DoctorReport(NamedTuple):
    root: Path
    librechat_version: str | None
    config: str  # the librechat.yaml read (or a URL that cannot be read)
    config_source: str  # "CONFIG_PATH in .env" | "default"
    env_file: str | None  # the .env read, None when there is none
    endpoints: tuple[EndpointCheck, ...]
    patches: PatchCheck | None
    findings: tuple[Finding, ...]
    ok: bool  # no blocker


class ProbeReport(NamedTuple):
    """``doctor --probe``: one custom endpoint's model list fetched as the server would, by the checkout's own code."""

    endpoint: str
    category: str  # ok, or the fetch's error category: unauthorized | unreachable | timeout | bad_response | ...
    status: int | None  # the provider's HTTP status, when it answered with an error
    kept: int  # ids after models.include and models.exclude
    fetched: int  # ids before them
    first: tuple[str, ...]  # the first ids after the filters (up to 10)
    elapsed_ms: int
    filtered: bool  # the endpoint has include or exclude patterns
    user_provided_url: bool  # the base URL came from --base-url, so the user-URL rules applied

    @property
    def ok(self) -> bool:
        return self.category == "ok"
