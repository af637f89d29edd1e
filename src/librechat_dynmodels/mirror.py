"""A LibreChat git mirror (a bare clone with the release tags): what port, matrix and
``refresh --include`` read the releases from. Every failure names what is missing."""

import subprocess
from pathlib import Path
from typing import NamedTuple

from .errors import UsageError

_WHAT = "a bare clone of LibreChat with its release tags, or a clone's .git folder"


def _run(git_dir: Path, args: tuple[str, ...], timeout: int = 300) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, timeout=timeout)
    except FileNotFoundError:
        raise UsageError("reading a git mirror needs the git program, and it is not installed") from None


def _last_line(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else f"exit code {done.returncode}"


def open_mirror(path: Path, option: str = "--git") -> Path:
    """The git folder of the mirror at ``path``; refuses a path that is missing or not a git repository."""
    shown = str(path)
    resolved = path.expanduser().resolve()
    if not resolved.exists():
        raise UsageError(f"no such git mirror: nothing at this path (give {option} {_WHAT})", shown)
    if (resolved / ".git").is_dir():
        resolved = resolved / ".git"
    done = _run(resolved, ("rev-parse", "--git-dir"), timeout=60)
    if done.returncode != 0:
        raise UsageError(f"not a git repository ({_last_line(done)}); give {option} {_WHAT}", shown)
    return resolved


def git(mirror: Path, *args: str) -> bytes:
    done = _run(mirror, args)
    if done.returncode != 0:
        raise UsageError(f"git {' '.join(args[:2])} failed: {_last_line(done)}", str(mirror))
    return done.stdout


def tags(mirror: Path) -> list[str]:
    return git(mirror, "tag", "--list").decode("utf-8", "replace").split()


def has_tag(mirror: Path, tag: str) -> bool:
    return _run(mirror, ("rev-parse", "--verify", "-q", f"refs/tags/{tag}^{{commit}}"), timeout=60).returncode == 0


class Ref(NamedTuple):
    """A commit-ish of the mirror as it resolved: a tag, a branch head (which moves: ``sha`` is what it was when
    read) or a commit."""

    name: str
    sha: str
    kind: str  # tag | branch | commit

    @property
    def note(self) -> str | None:
        """What the reader must know about the ref, or None for a tag (which stays where it is)."""
        if self.kind == "branch":
            return f"{self.name} is a branch, not a tag: its head moves; this run used {self.sha[:12]}"
        if self.kind == "commit":
            return f"{self.name} is a commit, not a tag: {self.sha[:12]}"
        return None


def resolve(mirror: Path, name: str) -> Ref | None:
    """``name`` (a tag, a branch, a sha) as a commit of the mirror; None when the mirror has no such commit."""
    if not name or name.startswith("-") or any(c in name for c in ":^~ \t\n") or ".." in name:
        return None  # an option, a path or a range, never a commit-ish
    done = _run(mirror, ("rev-parse", "--verify", "-q", f"{name}^{{commit}}"), timeout=60)
    if done.returncode != 0:
        return None
    sha = done.stdout.decode("ascii", "replace").strip()
    if has_tag(mirror, name):
        return Ref(name, sha, "tag")
    for prefix in ("refs/heads/", "refs/remotes/origin/"):
        if _run(mirror, ("rev-parse", "--verify", "-q", f"{prefix}{name}"), timeout=60).returncode == 0:
            return Ref(name, sha, "branch")
    return Ref(name, sha, "commit")


def branches(mirror: Path) -> list[str]:
    """The mirror's branch heads (a bare mirror's refs/heads)."""
    out = git(mirror, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    return out.decode("utf-8", "replace").split()


def show(mirror: Path, rev: str, relpath: str) -> bytes | None:
    """``relpath`` as ``rev`` has it; None when that release has no such file."""
    done = _run(mirror, ("show", f"{rev}:{relpath}"))
    return done.stdout if done.returncode == 0 else None


def export(mirror: Path, tag: str, into: Path) -> None:
    """The tree of ``tag`` written below ``into`` (as ``git archive`` has it: no .git). Any commit-ish; a
    branch is given as the sha it resolved to, so the tree is the commit that is reported."""
    import io
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(git(mirror, "archive", tag))) as tar:
        tar.extractall(into, filter="tar")
