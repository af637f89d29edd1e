"""The one way this tool writes a file: atomically, durably, with the mode it should have."""

import errno
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

# Fault injection for the crash tests: LIBRECHAT_DYNMODELS_FAULT=kill:N ends the process at its Nth write
# step (os._exit, no cleanup at all), full:N fails that step as a full disk does. A step is each point a
# crash can fall between: a temporary file written, synced or renamed into place, a folder synced, a file
# removed. `steps_taken()` counts them.
_FAULT_KIND, _, _FAULT_AT = os.environ.get("LIBRECHAT_DYNMODELS_FAULT", "").partition(":")
_steps = 0


def _step() -> None:
    global _steps
    _steps += 1
    if _FAULT_AT.isdigit() and _steps == int(_FAULT_AT):
        if _FAULT_KIND == "kill":
            os._exit(137)
        if _FAULT_KIND == "full":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def steps_taken() -> int:
    return _steps


def sha256_bytes(data: bytes) -> str:
    import hashlib  # deferred: `check` on a checkout without state never hashes

    return hashlib.sha256(data).hexdigest()


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def is_read_only(path: Path) -> bool:
    """True when the owner may not write ``path`` (mode bits, so it holds for root too)."""
    return not (file_mode(path) & stat.S_IWUSR)


def _fsync_dir(directory: Path) -> None:
    try:
        _step()
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _owner_of(path: Path) -> tuple[int, int] | None:
    """Whose a write to ``path`` is: the file's owner and group, else the nearest existing folder's."""
    probe = path
    while True:
        try:
            info = os.stat(probe)
            return info.st_uid, info.st_gid
        except FileNotFoundError:
            if probe.parent == probe:
                return None
            probe = probe.parent
        except OSError:
            return None


def _take_owner(path: Path | str, owner: tuple[int, int] | None) -> None:
    """Run as root, give ``path`` the owner it would have had (the checkout's, not root's)."""
    if owner is None or os.geteuid() != 0:
        return
    try:
        os.chown(path, *owner)
    except OSError:
        pass


def make_dirs(folder: Path) -> None:
    """``mkdir -p``; run as root, each new folder gets the owner of the nearest existing one."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    owner = _owner_of(probe)
    for new in reversed(missing):
        new.mkdir(exist_ok=True)
        _take_owner(new, owner)


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``.

    ``mode`` defaults to the existing file's permission bits, else 0o644. Run as root, the file keeps
    its owner and group (a new file takes its folder's), so a checkout owned by another user stays so.
    """
    atomic_write_many([(path, data, mode)])


def _stage(path: Path, data: bytes, mode: int | None) -> str:
    """A temporary file beside ``path`` with ``data``, the mode and the owner ``path`` should have."""
    import tempfile

    if mode is None:
        mode = file_mode(path) if path.exists() else 0o644
    make_dirs(path.parent)
    owner = _owner_of(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".dynmodels-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        _step()
        os.chmod(tmp_name, mode)
        _take_owner(tmp_name, owner)
    except BaseException:
        _unlink_quietly(tmp_name)
        raise
    return tmp_name


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _fsync_file(name: str) -> None:
    _step()
    fd = os.open(name, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_many(
    files: Iterable[tuple[Path, bytes, int | None]],
    on_written: Callable[[Path], None] | None = None,
    before_rename: Callable[[Path], None] | None = None,
) -> None:
    """:func:`atomic_write` for several files in one pass: every temporary file is written, then all are
    synced, then each is renamed into place (``on_written`` hears each), then each folder is synced once.
    The disk batches the syncs; a crash at any point leaves every target whole, old or new, and at most
    temporary files (``.NAME.XXXX.dynmodels-tmp``), which rollback and recovery remove.

    ``before_rename`` hears each target just before its rename and may refuse it by raising (a target that
    another program saved since it was read); the targets renamed before it stay renamed.
    """
    staged: list[tuple[str, Path]] = []
    renamed = 0
    try:
        for path, data, mode in files:
            staged.append((_stage(path, data, mode), path))
        for tmp_name, _ in staged:
            _fsync_file(tmp_name)
        for tmp_name, path in staged:
            if before_rename:
                before_rename(path)
            _step()
            os.replace(tmp_name, path)
            renamed += 1
            if on_written:
                on_written(path)
    except BaseException:
        for tmp_name, _ in staged[renamed:]:
            _unlink_quietly(tmp_name)
        raise
    for folder in dict.fromkeys(path.parent for _, path in staged):
        _fsync_dir(folder)


def remove_file(path: Path, sync_folder: bool = True) -> None:
    _step()
    try:
        path.unlink()
    except FileNotFoundError:
        return
    if sync_folder:
        _fsync_dir(path.parent)


def rename(source: Path, target: Path) -> None:
    """``os.rename`` as a write step (a folder put into place, as port's new series is)."""
    _step()
    os.rename(source, target)


def sync_dir(directory: Path) -> None:
    """Sync a folder's entries (after :func:`rename`), as a write step."""
    _fsync_dir(directory)


def write_synced(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write a new file in place and sync it (a draft that is linked into place next, as the lock is): after a
    power cut the linked name never stands for an empty file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        _step()
        os.fsync(fd)
    finally:
        os.close(fd)
