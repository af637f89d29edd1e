"""The one way this tool writes a file: atomically, durably, with the mode it should have."""

import os
import stat
from pathlib import Path


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
    import tempfile

    if mode is None:
        mode = file_mode(path) if path.exists() else 0o644
    make_dirs(path.parent)
    owner = _owner_of(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".dynmodels-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        _take_owner(tmp_name, owner)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def remove_file(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)
