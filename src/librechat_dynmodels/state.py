"""The state directory at the checkout root: manifest, backups, journal and lock.

```
.librechat-dynmodels/
  manifest.json     what was applied: series, components, sha256 and mode of every file before
                    and after, with a checksum over the whole manifest
  backups/<path>    the original bytes of every file the apply changed
  journal.json      present only while an apply or rollback is writing (crash recovery)
  lock              present only while a writing command runs (pid and host)
```
"""

import json
import os
import stat
import time
from pathlib import Path
from typing import Any, NamedTuple

from .errors import FileAccessError, LockedError, StateError, UnsafePathError
from .fsutil import atomic_write, atomic_write_many, make_dirs, remove_file, sha256_bytes, write_synced

MANIFEST_SCHEMA = 1


class FileRecord(NamedTuple):
    path: str
    action: str  # "modify" | "create"
    patched_sha256: str
    patched_mode: int
    original_sha256: str | None = None
    original_mode: int | None = None
    patch: str = ""  # the series' patch file this file's changes belong to
    component: str = ""

    @property
    def backup_name(self) -> str:
        return f"backups/{self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "action": self.action,
            "original_sha256": self.original_sha256,
            "original_mode": self.original_mode,
            "patched_sha256": self.patched_sha256,
            "patched_mode": self.patched_mode,
            "patch": self.patch,
            "component": self.component,
        }


class Manifest(NamedTuple):
    series: str
    chain: tuple[str, ...]
    components: tuple[str, ...]
    tool_version: str
    librechat_version: str | None
    applied_at: str
    files: tuple[FileRecord, ...]
    partial_base: bool = False  # originals were a partially patched tree (apply --force)
    fuzz: int = 0
    created_dirs: tuple[str, ...] = ()  # folders apply made for new files, removed on rollback

    def body(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA,
            "series": self.series,
            "chain": list(self.chain),
            "components": list(self.components),
            "tool_version": self.tool_version,
            "librechat_version": self.librechat_version,
            "applied_at": self.applied_at,
            "partial_base": self.partial_base,
            "fuzz": self.fuzz,
            "created_dirs": list(self.created_dirs),
            "files": [f.to_dict() for f in self.files],
        }

    def to_json(self) -> bytes:
        body = self.body()
        body["checksum"] = _checksum(body)
        return (json.dumps(body, indent=2, sort_keys=True) + "\n").encode("utf-8")

    def record(self, path: str) -> FileRecord | None:
        return next((f for f in self.files if f.path == path), None)


def _checksum(body: dict[str, Any]) -> str:
    return sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def _parse_manifest(raw: bytes, where: str) -> Manifest:
    try:
        data = json.loads(raw)
        checksum = data.pop("checksum")
        if checksum != _checksum(data):
            raise StateError("manifest fails its checksum (edited or corrupt); refusing to use it", where)
        if data["schema"] != MANIFEST_SCHEMA:
            raise StateError(f"manifest schema {data['schema']} is not supported by this version", where)
        files = tuple(
            FileRecord(
                path=f["path"],
                action=f["action"],
                patched_sha256=f["patched_sha256"],
                patched_mode=int(f["patched_mode"]),
                original_sha256=f.get("original_sha256"),
                original_mode=f.get("original_mode"),
                patch=f.get("patch", ""),
                component=f.get("component", ""),
            )
            for f in data["files"]
        )
        from .checkout import check_relpath

        try:
            for record in files:
                check_relpath(record.path, "manifest")
            created_dirs = tuple(check_relpath(d, "manifest") for d in data.get("created_dirs", ()))
        except UnsafePathError as exc:
            raise StateError(
                f"manifest names an unsafe path ({exc.message}: {exc.path}); refusing to use it", where
            ) from None
        return Manifest(
            series=data["series"],
            chain=tuple(data["chain"]),
            components=tuple(data["components"]),
            tool_version=data["tool_version"],
            librechat_version=data.get("librechat_version"),
            applied_at=data["applied_at"],
            files=files,
            partial_base=bool(data.get("partial_base", False)),
            fuzz=int(data.get("fuzz", 0)),
            created_dirs=created_dirs,
        )
    except StateError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError):
        raise StateError("manifest is corrupt (not the JSON this tool writes); refusing to use it", where) from None


class StateDir:
    """The tool's folder in a checkout: manifest, backups, journal and lock."""

    __slots__ = ("path", "_lock_held", "lock_left")

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_held = False
        self.lock_left: str | None = None  # why the lock could not be removed after the command, if it could not

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    @property
    def journal_path(self) -> Path:
        return self.path / "journal.json"

    @property
    def lock_path(self) -> Path:
        return self.path / "lock"

    def exists(self) -> bool:
        self.check_contained()
        return self.path.is_dir()

    def check_contained(self) -> None:
        """Refuses a state folder, or a part of it, that is not a real directory or file of its own:
        a symlink there would make the tool write backups, or remove files, somewhere else."""
        for part in (self.path, self.path / "backups", self.manifest_path, self.journal_path, self.lock_path):
            try:
                mode = os.lstat(part).st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StateError(f"cannot inspect the state folder: {exc.strerror}", str(part)) from None
            if stat.S_ISLNK(mode):
                raise UnsafePathError(
                    "part of the state folder is a symlink; refusing to follow it (remove the link)", str(part)
                )
            wanted_dir = part in (self.path, self.path / "backups")
            if wanted_dir != stat.S_ISDIR(mode):
                kind = "a directory" if wanted_dir else "a file"
                raise StateError(f"the state folder's {part.name} is not {kind}; move it away", str(part))

    # -- manifest and backups -------------------------------------------------------------
    def has_manifest(self) -> bool:
        return self.manifest_path.exists()

    def read_manifest(self) -> Manifest:
        try:
            raw = self.manifest_path.read_bytes()
        except FileNotFoundError:
            raise StateError("no manifest in the state directory", str(self.manifest_path)) from None
        except OSError as exc:
            raise StateError(f"cannot read manifest: {exc.strerror}", str(self.manifest_path)) from None
        return _parse_manifest(raw, str(self.manifest_path))

    def write_manifest(self, manifest: Manifest) -> None:
        atomic_write(self.manifest_path, manifest.to_json(), 0o644)

    def write_backups(self, backups: list[tuple[FileRecord, bytes]]) -> None:
        """Every original at once, synced in one pass."""
        atomic_write_many((self.path / record.backup_name, data, 0o600) for record, data in backups)

    def read_backup(self, record: FileRecord) -> bytes:
        """The original bytes of a modified file, verified against the manifest."""
        where = str(self.path / record.backup_name)
        try:
            data = (self.path / record.backup_name).read_bytes()
        except OSError:
            raise StateError(f"backup of {record.path} is missing or unreadable", where) from None
        if sha256_bytes(data) != record.original_sha256:
            raise StateError(f"backup of {record.path} fails its checksum; refusing to restore from it", where)
        return data

    def remove_backup(self, record: FileRecord) -> None:
        (self.path / record.backup_name).unlink(missing_ok=True)

    def verify_backups(self, manifest: Manifest) -> None:
        for record in manifest.files:
            if record.action == "modify":
                self.read_backup(record)

    # -- journal --------------------------------------------------------------------------
    def write_journal(self, operation: str, phase: str) -> None:
        make_dirs(self.path)
        body = {"operation": operation, "phase": phase, "pid": os.getpid(), "time": time.time()}
        atomic_write(self.journal_path, json.dumps(body).encode("utf-8"), 0o644)

    def read_journal(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.journal_path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A journal we cannot read still means an operation was interrupted.
            return {"operation": "unknown", "phase": "write"}
        return data if isinstance(data, dict) else {"operation": "unknown", "phase": "write"}

    def clear_journal(self) -> None:
        remove_file(self.journal_path)

    # -- lock -----------------------------------------------------------------------------
    def acquire_lock(self) -> None:
        """Take the lock or refuse; a lock left by a dead process on this host is taken over."""
        self.check_contained()
        try:
            self._take_lock()
        except OSError as exc:
            self.remove_if_empty()  # the folder this call made for the lock
            raise FileAccessError(
                f"cannot take the lock: {exc.strerror or exc}; nothing was changed", str(self.lock_path)
            ) from None

    def _take_lock(self) -> None:
        body = json.dumps(
            {"pid": os.getpid(), "host": _hostname(), "time": time.time(), "start": _process_start(os.getpid())}
        )
        for _ in range(5):
            tmp = self.path / f".lock.{os.getpid()}"
            try:
                make_dirs(self.path)
                write_synced(tmp, body.encode("utf-8"))  # synced: after a power cut the lock is never empty
                os.link(tmp, self.lock_path)
                self._lock_held = True
                return
            except FileNotFoundError:
                continue  # a run that just finished removed the (empty) state folder: make it again
            except FileExistsError:
                holder = self.lock_holder()
                if holder is not None and _alive(holder):
                    raise LockedError(_lock_message(holder, self.lock_path), str(self.lock_path)) from None
                self.lock_path.unlink(missing_ok=True)  # stale: its process is gone
            finally:
                tmp.unlink(missing_ok=True)
        raise LockedError("could not take the lock; another run keeps taking it", str(self.lock_path))

    def lock_holder(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.lock_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # Unreadable: stale unless it is brand new (its writer may be mid-write). The age is absolute: a
            # lock dated in the future (a clock stepped back) is not fresh for as long as the skew lasts.
            try:
                fresh = abs(time.time() - self.lock_path.stat().st_mtime) < 5
            except OSError:
                fresh = False
            return {"pid": None, "host": _hostname(), "fresh": True} if fresh else None
        return data if isinstance(data, dict) else None

    def release_lock(self) -> None:
        """Remove the lock. A removal that fails (a full or failing disk) does not undo what the command did:
        ``lock_left`` says so, and as its process is gone once the command ends, the next run takes it over."""
        if self._lock_held:
            self._lock_held = False
            try:
                remove_file(self.lock_path, sync_folder=False)
            except OSError as exc:
                self.lock_left = (
                    f"the lock {self.lock_path} could not be removed ({exc.strerror or exc}); no run holds it, "
                    "so the next run takes it over, or remove it by hand"
                )

    def remove_if_empty(self) -> None:
        try:
            self.path.rmdir()
        except OSError:
            pass

    def sweep_temporaries(self) -> None:
        """Remove what a killed run of this tool left in the state folder: its temporary files
        (``.NAME.XXXX.dynmodels-tmp``) and lock drafts of processes that are gone (``.lock.PID``)."""
        if not self.path.is_dir():
            return
        for leftover in list(self.path.rglob(".*")):
            name = leftover.name
            draft_pid = name[len(".lock.") :] if name.startswith(".lock.") else ""
            stale_draft = (
                draft_pid.isdigit()
                and int(draft_pid) != os.getpid()
                and not _alive({"pid": int(draft_pid), "host": _hostname()})
            )
            ours = name.endswith(".dynmodels-tmp") or stale_draft
            if ours and leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove manifest, backups, journal and temporaries (the lock is released separately)."""
        import shutil

        self.check_contained()
        self.sweep_temporaries()
        self.manifest_path.unlink(missing_ok=True)  # first: without it nothing points at backups
        if (self.path / "backups").is_dir():
            shutil.rmtree(self.path / "backups")
        self.clear_journal()


def _hostname() -> str:
    import socket  # deferred: only writing commands take the lock

    return socket.gethostname()


def _process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot, from /proc), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat_file:
            fields = stat_file.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(holder: dict[str, Any]) -> bool:
    """Whether the lock's holder may still be running: a lock from another host always may."""
    if holder.get("fresh"):
        return True
    if holder.get("host") != _hostname():
        return True  # cannot tell for another host: assume it is running
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    started = holder.get("start")
    if isinstance(started, int) and _process_start(pid) not in (None, started):
        return False  # the pid now belongs to another process: the holder is gone
    return True


def _lock_message(holder: dict[str, Any], lock_path: Path) -> str:
    """Who holds the lock, and how to clear it when it is provably stale."""
    pid, host = holder.get("pid"), holder.get("host") or "?"
    since = holder.get("time")
    age = f", {int(time.time() - since)} s ago" if isinstance(since, (int, float)) else ""
    if host != _hostname():
        return (
            f"locked by a run on host {host} (pid {pid}{age}); if no librechat-dynmodels runs there "
            f"any more, remove {lock_path}"
        )
    if pid is None:
        return (
            f"the lock file {lock_path} is empty or unreadable and was written moments ago: another run may be "
            f"taking it; try again in a few seconds, or remove {lock_path} if no librechat-dynmodels runs"
        )
    return f"another librechat-dynmodels run (pid {pid}{age}) is working on this checkout; wait for it to finish"
