"""The patch catalog: the feature's own files once, and series folders that wire them in.

```
patches/
  feature/<path>                            each file of the feature, once, in LibreChat's layout
  feature/compat/<family>/userModelsCompat.js   what differs between families of releases
  <series-id>/series.yaml                   releases, components, and which feature files to install
  <series-id>/NNNN-<component>-....patch    the glue: hunks into LibreChat's own files
```

A feature file named in a series' ``install`` list becomes a created file of that series, with every
guarantee a created file has (manifest, checksums, drift detection, rollback).
"""

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from .checkout import check_relpath, reads_as, reads_as_git_dir, safe_target
from .diffs import FilePatch, created_file_patch, parse_patch
from .errors import CatalogError, DynModelsError, NoSeriesError, UsageError

FEATURE_DIR = "feature"  # inside the catalog folder
# Catalog files are small; a larger one is damaged or hostile, never read whole into memory.
MAX_SERIES_YAML_BYTES = 256 * 1024
MAX_CATALOG_FILE_BYTES = 8 * 1024 * 1024

COMPONENTS = ("backend", "data-provider", "client")
# A component is useless without the ones it calls: the client calls the data-provider's
# helpers, which call the backend's route.
COMPONENT_NEEDS: dict[str, tuple[str, ...]] = {
    "backend": (),
    "data-provider": ("backend",),
    "client": ("data-provider",),
}


_RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?$")
_PROJECT_NAME = re.compile(r'^name\s*=\s*["\']librechat-dynmodels["\']\s*$', re.M)


def release_key(tag: str) -> tuple[int, int, int, int, int] | None:
    """Sort key of a release tag (an -rcN sorts before its release); None for other tags."""
    match = _RELEASE.match(tag)
    if not match:
        return None
    major, minor, patch, rc = match.groups()
    return (int(major), int(minor), int(patch), 0 if rc else 1, int(rc or 0))


def default_catalog_dir() -> Path:
    """The catalog shipped in the wheel, or the one at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "patches", here.parent.parent / "patches"):
        if candidate.is_dir():
            return candidate
    raise CatalogError("the patch catalog is missing from this installation", str(here / "patches"))


def applicable_components(components: Iterable[str], failing: Iterable[str]) -> tuple[str, ...]:
    """Of the ``components`` a series was evaluated with, those that still do their job when the ``failing`` ones
    cannot be applied: each fits, and so does every component it needs (of those in ``components``). The backend
    alone still gives every user their own list; the data provider without the backend calls a route that is not
    there, so it is left out with it, and the client with it. Empty: nothing useful applies. The one rule behind
    every partial-apply hint (the refusals of check and apply, status, doctor)."""
    wanted, broken = set(components), set(failing)
    kept: list[str] = []
    for name in COMPONENTS:  # a component's needs come before it
        needs = [need for need in with_needed_components([name]) - {name} if need in wanted]
        if name in wanted and name not in broken and all(need in kept for need in needs):
            kept.append(name)
    return tuple(kept)


def with_needed_components(wanted: list[str]) -> set[str]:
    for name in wanted:
        if name not in COMPONENT_NEEDS:
            raise UsageError(f"unknown component {name!r} (known: {', '.join(COMPONENTS)})")
    closed: set[str] = set()
    pending = list(wanted)
    while pending:
        name = pending.pop()
        if name not in closed:
            closed.add(name)
            pending.extend(COMPONENT_NEEDS[name])
    return closed


class SharedFile(NamedTuple):
    """A feature file a series installs: ``path`` in the checkout, ``source`` below ``feature/``."""

    path: str
    source: str

    @property
    def origin(self) -> str:
        """How results and the manifest name it: its place in the catalog."""
        return f"{FEATURE_DIR}/{self.source}"


class PatchEntry(NamedTuple):
    file: str
    component: str
    description: str
    installs: tuple[SharedFile, ...] = ()


class Series:
    """One folder of the catalog: what series.yaml says, and its patches (parsed on first use)."""

    __slots__ = ("id", "description", "librechat", "patches", "directory", "native", "requires", "_parsed")

    def __init__(
        self,
        id: str,  # noqa: A002 - the series.yaml key
        description: str,
        librechat: tuple[str, ...],
        patches: tuple[PatchEntry, ...],
        directory: Path,
        native: bool = False,
        requires: tuple[str, ...] = (),
    ) -> None:
        self.id, self.description, self.librechat, self.patches = id, description, librechat, patches
        self.directory, self.native, self.requires = directory, native, requires
        self._parsed: dict[str, list[FilePatch]] = {}

    def __repr__(self) -> str:
        return f"Series({self.id!r}, {self.directory})"

    @property
    def components(self) -> list[str]:
        return [c for c in COMPONENTS if any(p.component == c for p in self.patches)]

    @property
    def feature_dir(self) -> Path:
        return self.directory.parent / FEATURE_DIR

    def file_patches(self, entry: PatchEntry) -> list[FilePatch]:
        """The glue sections of one patch file, then the feature files it installs (read once)."""
        if entry.file not in self._parsed:
            catalog_dir = self.directory.parent
            path = self.directory / entry.file
            try:
                text = read_catalog_file(catalog_dir, f"{self.directory.name}/{entry.file}").decode("utf-8")
            except UnicodeDecodeError as exc:
                raise CatalogError(f"cannot read patch file: {exc}", str(path)) from None
            parsed = parse_patch(text, str(path))
            for shared in entry.installs:
                content = read_catalog_file(catalog_dir, shared.origin)
                parsed.append(created_file_patch(shared.path, content, shared.origin))
            self._parsed[entry.file] = parsed
        return self._parsed[entry.file]

    def shared_files(self) -> list[SharedFile]:
        return [shared for entry in self.patches for shared in entry.installs]


class Catalog(NamedTuple):
    directory: Path
    series: dict[str, Series]
    given: bool = False  # named by the user (--patches), not the one the tool found beside itself

    @property
    def releases(self) -> list[str]:
        """Every release some series names, oldest first (release tags by version, others last)."""
        named = {t for s in self.series.values() for t in s.librechat}
        return sorted(named, key=lambda t: (release_key(t) is None, release_key(t) or (0,) * 5, t))

    def get(self, series_id: str) -> Series:
        try:
            return self.series[series_id]
        except KeyError:
            known = ", ".join(sorted(self.series)) or "none"
            raise NoSeriesError(f"no series {series_id!r} in the catalog (known: {known})") from None

    def chain(self, series_id: str) -> list[Series]:
        """The series and everything it requires, the required ones first."""
        ordered: list[Series] = []
        visiting: set[str] = set()

        def visit(sid: str) -> None:
            if any(s.id == sid for s in ordered):
                return
            if sid in visiting:
                raise CatalogError(f"series {sid!r} requires itself through a cycle")
            visiting.add(sid)
            series = self.get(sid)
            for required in series.requires:
                visit(required)
            ordered.append(series)

        visit(series_id)
        return ordered


def read_catalog_file(catalog_dir: Path, relpath: str, limit: int = MAX_CATALOG_FILE_BYTES) -> bytes:
    """A series.yaml, patch or feature file: a regular file inside the catalog, as the checkout's
    targets are guarded (a symlink may lead only within the catalog and never be the file itself)."""
    path = catalog_dir / relpath
    try:
        safe_target(catalog_dir, relpath, "catalog")
    except DynModelsError as exc:
        raise CatalogError(exc.message, str(path)) from None
    try:
        # O_NOFOLLOW: a link put in place after the check is not followed either
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise CatalogError("named in series.yaml but missing from the catalog", str(path)) from None
    except OSError as exc:
        raise CatalogError(f"cannot read: {exc.strerror or exc}", str(path)) from None
    if len(data) > limit:
        raise CatalogError(f"larger than {limit // 1024} KiB; a catalog file this size is damaged", str(path))
    return data


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise CatalogError(f"'{key}' must be a {kind.__name__}", where)
    return value


def _string_list(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"'{key}' must be a list of strings", where)
    return tuple(value)


def _relpath(value: object, what: str, where: str) -> str:
    if not isinstance(value, str):
        raise CatalogError(f"{what} {value!r} must be a string", where)
    if "\\" in value:
        raise CatalogError(f"{what} {value!r} must use '/' between its parts", where)
    try:
        return check_relpath(value, "series.yaml")
    except DynModelsError as exc:
        raise CatalogError(
            f"{what} {value!r} must be a relative path inside the folder: {exc.message}", where
        ) from None


_SERIES_ID = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,98}[A-Za-z0-9])?$")


def check_series_id(value: object, where: str | None, error: type[DynModelsError] = CatalogError) -> str:
    """A series id is a folder name of the catalog, so it is checked as strictly as a path: one plain
    name (letters, digits, ``.``, ``_``, ``+``, ``-``; no ``/``, no leading or trailing dot), never the
    feature folder nor a name a file system could take for ``.git``. Catalog loading and ``port`` both
    ask here; ``error`` is the kind of error the caller reports it as."""
    if not isinstance(value, str) or not _SERIES_ID.match(value):
        raise error(
            f"series id {str(value)[:80]!r} must be one name of letters, digits, '.', '_', '+' and '-', "
            "starting and ending with a letter or digit (at most 100)",
            where,
        )
    if reads_as(value, FEATURE_DIR) or reads_as_git_dir(value):
        raise error(f"series id {value!r} is reserved (the feature folder or a name of .git)", where)
    return value


def _installs(item: dict[str, Any], where: str) -> tuple[SharedFile, ...]:
    """``install:`` entries: a path (the same below feature/ and in the checkout) or {path, from}."""
    value = item.get("install", [])
    if not isinstance(value, list):
        raise CatalogError("'install' must be a list", where)
    result = []
    for entry in value:
        if isinstance(entry, str):
            path = _relpath(entry, "install path", where)
            result.append(SharedFile(path, path))
        elif isinstance(entry, dict) and set(entry) == {"path", "from"}:
            result.append(
                SharedFile(_relpath(entry["path"], "install path", where), _relpath(entry["from"], "from", where))
            )
        else:
            raise CatalogError("each 'install' entry must be a path or a mapping with 'path' and 'from'", where)
    return tuple(result)


def first_yaml_alias(text: str) -> Any:
    """The start mark (``line``, ``column``, 0-based) of the first YAML alias in ``text``, or None; read from the
    parser's events, so an alias bomb is never expanded. Raises ``yaml.YAMLError`` on invalid YAML."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            return event.start_mark
    return None


def parse_series_yaml(text: str, where: str) -> Any:
    """series.yaml as data: PyYAML's safe loader (libyaml's where present), aliases refused."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        if first_yaml_alias(text) is not None:
            raise CatalogError("YAML aliases are not allowed in series.yaml", where)
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"invalid YAML{at}", where) from None


def series_yaml_text(data: dict[str, Any]) -> str:
    """series.yaml as ``refresh`` and ``port`` write it (PyYAML quotes what YAML would misread)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)  # list items indented under their key

    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000))


def load_series(directory: Path) -> Series:
    where = str(directory / "series.yaml")
    check_series_id(directory.name, where)
    try:
        text = read_catalog_file(directory.parent, f"{directory.name}/series.yaml", MAX_SERIES_YAML_BYTES).decode(
            "utf-8"
        )
    except UnicodeDecodeError as exc:
        raise CatalogError(f"cannot read: {exc}", where) from None
    data = parse_series_yaml(text, where)
    if not isinstance(data, dict):
        raise CatalogError("series.yaml must be a mapping", where)
    series_id = check_series_id(_require(data, "id", str, where), where)
    if series_id != directory.name:
        raise CatalogError(f"id {series_id!r} differs from its folder name {directory.name!r}", where)
    native = data.get("native", False)
    if not isinstance(native, bool):
        raise CatalogError("'native' must be true or false", where)
    entries = []
    installed: set[str] = set()
    for item in _require(data, "patches", list, where):
        if not isinstance(item, dict):
            raise CatalogError("each entry of 'patches' must be a mapping", where)
        file = _require(item, "file", str, where)
        if "/" in file or "\\" in file or file.startswith(".") or reads_as_git_dir(file):
            raise CatalogError(f"patch file {file!r} must be a plain name inside the series folder", where)
        component = _require(item, "component", str, where)
        if component not in COMPONENTS:
            raise CatalogError(f"{file}: unknown component {component!r} (known: {', '.join(COMPONENTS)})", where)
        installs = _installs(item, where)
        for shared in installs:
            if shared.path in installed:
                raise CatalogError(f"{shared.path} is installed twice", where)
            installed.add(shared.path)
        description = item.get("description", "")
        if not isinstance(description, str):
            raise CatalogError(f"{file}: 'description' must be a string", where)
        entries.append(PatchEntry(file, component, description, installs))
    if not entries:
        raise CatalogError("'patches' is empty", where)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise CatalogError("'description' must be a string", where)
    return Series(
        id=series_id,
        description=description,
        librechat=_string_list(data, "librechat", where),
        patches=tuple(entries),
        directory=directory,
        native=native,
        requires=tuple(check_series_id(required, where) for required in _string_list(data, "requires", where)),
    )


def is_source_checkout(catalog_dir: Path) -> bool:
    """The catalog of a clone of this project: ``patches/`` beside its own pyproject.toml."""
    try:
        pyproject = (catalog_dir.parent / "pyproject.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return catalog_dir.name == "patches" and bool(_PROJECT_NAME.search(pyproject))


def writable_catalog_dir(catalog: Catalog, command: str, checkout_root: Path) -> Path:
    """Where ``refresh`` and ``port`` may write: a catalog named with ``--patches``, or the one of the
    project checkout the tool runs from; never an installed package's (a reinstall would lose the edit)."""
    if catalog.given or is_source_checkout(catalog.directory):
        return catalog.directory
    from shlex import quote

    raise CatalogError(
        f"{command} writes the patch catalog, and the one in use is the installed package's, where the next "
        "reinstall loses the edit; run it on a clone of librechat-dynmodels: 'librechat-dynmodels --patches "
        f"/path/to/librechat-dynmodels/patches {command} {quote(str(checkout_root))}'",
        str(catalog.directory),
    )


def load_catalog(directory: Path | None = None) -> Catalog:
    root = directory if directory is not None else default_catalog_dir()
    if not root.is_dir():
        raise CatalogError("patch catalog folder not found", str(root))
    series = {}
    for child in sorted(root.iterdir()):
        # a hidden folder is not a series (a port's draft of one, .ID.port-PID.dynmodels-tmp, until it is whole)
        if child.is_dir() and not child.name.startswith(".") and (child / "series.yaml").exists():
            loaded = load_series(child)
            series[loaded.id] = loaded
    for loaded in series.values():
        for required in loaded.requires:
            if required not in series:
                raise CatalogError(f"requires unknown series {required!r}", str(loaded.directory / "series.yaml"))
    return Catalog(root, series, directory is not None)
