"""The one error hierarchy of the tool and the fixed exit-code table.

Every expected failure is a :class:`DynModelsError`. The CLI turns it into one line and its
exit code; anything else is a bug and becomes exit 3 with a log file.
"""

import os
from enum import IntEnum
from pathlib import Path
from typing import NamedTuple

# How a hint names this tool; the CLI puts the program that ran (and its --patches) in its place.
PROGRAM = "librechat-dynmodels"


def quote_arg(text: str) -> str:
    """One argument as the shell of this platform reads it back."""
    if os.name == "nt":
        import subprocess

        return subprocess.list2cmdline([text])
    import shlex

    return shlex.quote(text)


def command_hint(*words: str | Path) -> str:
    """A command for the admin to run next, for their shell as it is: this tool, then each word quoted
    (give the checkout's path last, so the hint works from any folder)."""
    return " ".join([PROGRAM, *(quote_arg(str(word)) for word in words)])


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # expected failure, nothing changed
    USAGE = 2
    INTERNAL = 3
    INCOMPLETE = 4  # rollback or recovery incomplete; state kept so a re-run finishes it
    PROBE = 5  # doctor --probe could not run the fetch at all (no node, no node_modules, unknown endpoint, no key)
    NOT_BUILT = 6  # verify --runtime: applied, but a dist LibreChat loads was not rebuilt from the patched sources
    INTERRUPTED = 130


class Hint(NamedTuple):
    """A command that does what can be done instead (``apply --component backend PATH``), and what it does; an error
    or a result carries it, the CLI shows it after the error's line as ``; DOES: COMMAND``."""

    does: str  # "to apply backend and data-provider alone"
    command: str  # command_hint(...)

    def __str__(self) -> str:
        return f"{self.does}: {self.command}"


class DynModelsError(Exception):
    """Root of every expected failure. ``code`` is a stable machine-readable name."""

    code = "error"
    exit_code = ExitCode.FAILED
    hint: Hint | None = None

    def __init__(self, message: str, path: str | None = None, hint: Hint | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class UsageError(DynModelsError):
    code = "usage"
    exit_code = ExitCode.USAGE


class NotACheckoutError(DynModelsError):
    code = "not_a_checkout"


class CatalogError(DynModelsError):
    """A series.yaml or patch file that cannot be read or is malformed."""

    code = "catalog"


class NoSeriesError(DynModelsError):
    """No series in the catalog fits the checkout, or the one asked for does not exist."""

    code = "no_series"


class PatchFailedError(DynModelsError):
    """One or more hunks do not apply; nothing was written."""

    code = "patch_failed"


class UnsafePathError(DynModelsError):
    code = "unsafe_path"


class DriftError(DynModelsError):
    """A file the tool patched was edited afterwards."""

    code = "drifted"


class StateError(DynModelsError):
    """The state directory is missing, corrupt or belongs to something else."""

    code = "state"


class LockedError(DynModelsError):
    code = "locked"


class FileAccessError(DynModelsError):
    """Read-only files, permission errors, a full disk: detected or undone, nothing changed."""

    code = "file_access"


class InterruptedOperationError(DynModelsError):
    """A journal of an interrupted apply or rollback was found by a read-only command."""

    code = "interrupted_operation"


class IncompleteError(DynModelsError):
    """A rollback or recovery could not finish; the state directory is kept for a re-run."""

    code = "incomplete"
    exit_code = ExitCode.INCOMPLETE


class InterruptError(DynModelsError):
    """Ctrl-C (or SIGTERM) stopped the command before it wrote anything."""

    code = "interrupted"
    exit_code = ExitCode.INTERRUPTED


class ProbeError(DynModelsError):
    """``doctor --probe`` could not run the fetch: no ``node``, no ``node_modules``, the patches not applied, an
    unknown endpoint, a key or URL it needs not given. A fetch that ran and failed is a result, not this."""

    code = "probe"
    exit_code = ExitCode.PROBE


class NotBuiltError(DynModelsError):
    """``verify --runtime``: the series is applied, but a built artifact (``client/dist``, a package's ``dist``)
    does not carry it yet or is older than the patched sources. The message names the command that rebuilds it."""

    code = "not_built"
    exit_code = ExitCode.NOT_BUILT


class FindingError(DynModelsError):
    """A blocker that ``doctor`` found; its code is the finding's (``config_invalid``, ``empty_defaults``, ...)."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message, path)
        self.code = code
