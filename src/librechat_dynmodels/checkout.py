"""Find a LibreChat checkout, read its release, detect native per-user fetching, guard paths."""

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from .errors import FileAccessError, NotACheckoutError, UnsafePathError

STATE_DIR_NAME = ".librechat-dynmodels"
_REQUIRED_DIRS = ("api", "client", "packages/data-provider")

# Code that only releases with native per-user model fetching have (LibreChat PR #12466).
_NATIVE_MARKERS = (
    ("packages/api/src/endpoints/config/models.ts", ("createLoadConfigModels", "getUserKeyValues")),
    ("api/server/services/Config/loadConfigModels.js", ("createLoadConfigModels", "getUserKeyValues")),
)


class NativeSupport(NamedTuple):
    present: bool
    evidence: str | None = None  # the file whose code shows it


class Checkout(NamedTuple):
    root: Path
    version: str | None

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR_NAME

    def target(self, relpath: str) -> Path:
        return safe_target(self.root, relpath)

    @property
    def is_git_worktree(self) -> bool:
        return (self.root / ".git").exists()


def _missing_parts(candidate: Path) -> list[str]:
    missing = []
    package = candidate / "package.json"
    try:
        name = json.loads(package.read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        name = None
    if name != "LibreChat":
        missing.append("package.json named 'LibreChat'")
    missing += [f"{d}/" for d in _REQUIRED_DIRS if not (candidate / d).is_dir()]
    return missing


def read_version(root: Path) -> str | None:
    try:
        version = json.loads((root / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError, AttributeError):
        return None
    return version if isinstance(version, str) else None


def find_checkout(path: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Checkout:
    """PATH, else $LIBRECHAT_DIR, else the nearest LibreChat root above the current directory."""
    env = os.environ if env is None else env
    explicit = path if path is not None else (Path(env["LIBRECHAT_DIR"]) if env.get("LIBRECHAT_DIR") else None)
    if explicit is not None:
        given = " (from LIBRECHAT_DIR)" if path is None else ""
        root = explicit.expanduser().resolve()
        if not root.is_dir():
            raise NotACheckoutError(f"not a directory{given}", str(explicit))
        missing = _missing_parts(root)
        if missing:
            raise NotACheckoutError(f"not a LibreChat checkout{given}: missing " + ", ".join(missing), str(explicit))
        return Checkout(root, read_version(root))
    start = (cwd or Path.cwd()).resolve()
    for candidate in (start, *start.parents):
        if not _missing_parts(candidate):
            return Checkout(candidate, read_version(candidate))
    raise NotACheckoutError(
        "no LibreChat checkout here or above (looked for package.json named 'LibreChat' with api/, "
        "client/, packages/data-provider/); pass PATH or set LIBRECHAT_DIR",
        str(start),
    )


def detect_native_support(root: Path) -> NativeSupport:
    for relpath, markers in _NATIVE_MARKERS:
        try:
            text = (root / relpath).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if all(marker in text for marker in markers):
            return NativeSupport(True, relpath)
    return NativeSupport(False)


def check_relpath(relpath: object, what: str = "patch") -> str:
    """A path relative to the checkout that cannot leave it or touch a .git folder or the tool's state."""
    if not isinstance(relpath, str) or not relpath or "\x00" in relpath:
        raise UnsafePathError(f"empty or malformed path in {what} refused", str(relpath)[:200])
    pure = Path(relpath)
    if pure.is_absolute() or relpath.startswith(("/", "\\")) or ":" in (pure.parts or ("",))[0]:
        raise UnsafePathError(f"absolute path in {what} refused", relpath)
    parts = relpath.replace("\\", "/").split("/")
    if any(part in ("..", "", ".") for part in parts):
        raise UnsafePathError(f"path with '..', '.' or an empty part in {what} refused", relpath)
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts):
        raise UnsafePathError(f"path with a part longer than 255 bytes in {what} refused", relpath[:80] + "...")
    # in every part and in every spelling a file system may take for it (a nested .git is a repository too)
    if any(reads_as_git_dir(part) for part in parts) or reads_as(parts[0], STATE_DIR_NAME):
        raise UnsafePathError(f"{what} may not touch the tool's state or .git", relpath)
    return relpath


# Code points HFS+ ignores in names, so that ".g\u200cit" is ".git" there (git's is_hfs_dotgit).
_HFS_IGNORED = dict.fromkeys([*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF])


def reads_as(part: str, name: str) -> bool:
    """Whether some file system opens the path component ``part`` as ``name``: in any case (macOS,
    Windows), with trailing dots or spaces or an NTFS stream suffix (``name.``, ``name ``,
    ``name::$DATA``), or with code points HFS+ ignores; as git's verify_path judges ``.git``."""
    folded = part.translate(_HFS_IGNORED).split(":", 1)[0].rstrip(". ")
    return folded.casefold() == name.casefold()


def reads_as_git_dir(part: str) -> bool:
    """``.git`` in any of its look-alikes, or its NTFS 8.3 short name ``GIT~1``."""
    return reads_as(part, ".git") or reads_as(part, "git~1")


def safe_target(root: Path, relpath: str, place: str = "checkout") -> Path:
    """The absolute path of ``relpath`` inside ``root``; refuses anything that could escape it.

    The one guard of every path the tool reads or writes below a folder of its own choosing: the
    checkout's targets, and the catalog's series.yaml, patch and feature files (``place="catalog"``).
    """
    check_relpath(relpath, "patch" if place == "checkout" else place)
    # Walk the components below the root: the target may not be a symlink, and a symlink on the way
    # must resolve inside the checkout (one lstat per component; realpath only for a link).
    parts = relpath.split("/")
    current = str(root)
    for depth, part in enumerate(parts, start=1):
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            break  # nothing exists from here on, so nothing further can redirect the path
        is_link = stat.S_ISLNK(mode)
        if is_link and depth == len(parts):
            if place == "checkout":
                raise UnsafePathError("target is a symlink; refusing to replace it", relpath)
            raise UnsafePathError(f"is a symlink; the {place}'s files are read only as regular files", relpath)
        if is_link:
            real, real_root = os.path.realpath(current), os.path.realpath(root)
            if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
                raise UnsafePathError(f"path resolves through a symlink outside the {place}", relpath)
            inside = os.path.relpath(real, real_root).split(os.sep)
            if any(reads_as_git_dir(part) for part in inside) or reads_as(inside[0], STATE_DIR_NAME):
                raise UnsafePathError("path resolves through a symlink into .git or the tool's state", relpath)
        elif depth == len(parts) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise FileAccessError("is not a regular file (a FIFO, socket or device); refusing to read it", relpath)
    return root / relpath


# The git exclude file the tool keeps its state folder out of `git status` with, relative to the checkout.
GIT_EXCLUDE = ".git/info/exclude"


def add_git_exclude(root: Path, entry: str) -> bool:
    """Add ``entry`` to .git/info/exclude of a plain (non-worktree-file) git checkout."""
    from .fsutil import atomic_write

    git_dir = root / ".git"
    if not git_dir.is_dir():
        return False
    exclude = git_dir / "info" / "exclude"
    try:
        current = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        if entry in current.splitlines():
            return True
        exclude.parent.mkdir(parents=True, exist_ok=True)
        prefix = "" if not current or current.endswith("\n") else "\n"
        atomic_write(exclude, (current + prefix + entry + "\n").encode("utf-8"))
    except OSError:
        return False
    return True


def remove_git_exclude(root: Path, entry: str) -> None:
    """Take back the line :func:`add_git_exclude` wrote (only that exact line)."""
    from .fsutil import atomic_write

    exclude = root / ".git" / "info" / "exclude"
    try:
        current = exclude.read_text(encoding="utf-8")
    except OSError:
        return
    lines = current.splitlines(keepends=True)
    kept = [line for line in lines if line.rstrip("\r\n") != entry]
    if len(kept) != len(lines):
        try:
            atomic_write(exclude, "".join(kept).encode("utf-8"))
        except OSError:
            pass  # the next rollback takes it back


def sweep_temporaries(root: Path, relpaths: list[str]) -> None:
    """Remove the temporary files a killed write of this tool left beside these targets
    (``.NAME.XXXX.dynmodels-tmp``, the names :func:`fsutil.atomic_write` uses)."""
    import glob

    for relpath in relpaths:
        target = root / relpath
        pattern = str(target.parent / f".{glob.escape(target.name)}.*.dynmodels-tmp")
        for leftover in glob.glob(pattern):
            try:
                if not os.path.islink(leftover):
                    os.unlink(leftover)
            except OSError:
                pass


def git_uncommitted(root: Path, relpaths: list[str]) -> list[str] | None:
    """Which of ``relpaths`` have uncommitted changes; None when git cannot be asked."""
    if not (root / ".git").exists():
        return None
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        import git  # GitPython: imported only here, `status` is its only user
    except Exception:
        return None
    try:
        repo = git.Repo(root)
        changed = {d.a_path for d in repo.index.diff(None)} | {d.a_path for d in repo.index.diff("HEAD")}
        untracked = set(repo.untracked_files)
    except Exception:
        return None
    return [p for p in relpaths if p in changed or p in untracked]


def git_changed_files(root: Path) -> list[str] | None:
    """Every modified or untracked (not ignored) file of a git work tree; None without git."""
    if not (root / ".git").exists():
        return None
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    try:
        import git
    except Exception:
        return None
    try:
        repo = git.Repo(root)
        changed = {d.a_path for d in repo.index.diff(None)} | {d.a_path for d in repo.index.diff("HEAD")}
        return sorted({p for p in changed if p} | set(repo.untracked_files))
    except Exception:
        return None


def git_head_bytes(root: Path, relpath: str) -> bytes | None:
    """The committed content of ``relpath`` at HEAD, or None when it is not tracked (or no git)."""
    import subprocess

    try:
        done = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{relpath}"], capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
