"""The patch catalog: series folders with a series.yaml and their patch files."""

from pathlib import Path
from typing import Any, NamedTuple

from .diffs import FilePatch, parse_patch
from .errors import CatalogError, NoSeriesError, UsageError

COMPONENTS = ("backend", "data-provider", "client")
# A component is useless without the ones it calls: the client calls the data-provider's
# helpers, which call the backend's route.
COMPONENT_NEEDS: dict[str, tuple[str, ...]] = {
    "backend": (),
    "data-provider": ("backend",),
    "client": ("data-provider",),
}


def default_catalog_dir() -> Path:
    """The catalog shipped in the wheel, or the one at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "patches", here.parent.parent / "patches"):
        if candidate.is_dir():
            return candidate
    raise CatalogError("the patch catalog is missing from this installation", str(here / "patches"))


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


class PatchEntry(NamedTuple):
    file: str
    component: str
    description: str


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

    def file_patches(self, entry: PatchEntry) -> list[FilePatch]:
        """The parsed sections of one patch file (parsed once, on first use)."""
        if entry.file not in self._parsed:
            path = self.directory / entry.file
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise CatalogError("patch file named in series.yaml is missing", str(path)) from None
            except (OSError, UnicodeDecodeError) as exc:
                raise CatalogError(f"cannot read patch file: {exc}", str(path)) from None
            self._parsed[entry.file] = parse_patch(text, str(path))
        return self._parsed[entry.file]


class Catalog(NamedTuple):
    directory: Path
    series: dict[str, Series]

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


def _parse_yaml(text: str, where: str) -> Any:
    import yaml

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present
        return yaml.load(text, Loader=loader)  # noqa: S506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CatalogError(f"invalid YAML{at}", where) from None


def load_series(directory: Path) -> Series:
    from .plainyaml import parse_plain

    where = str(directory / "series.yaml")
    try:
        text = (directory / "series.yaml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogError("series.yaml is missing", where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"cannot read: {exc}", where) from None
    data = parse_plain(text)
    if data is None:
        data = _parse_yaml(text, where)
    if not isinstance(data, dict):
        raise CatalogError("series.yaml must be a mapping", where)
    series_id = _require(data, "id", str, where)
    if series_id != directory.name:
        raise CatalogError(f"id {series_id!r} differs from its folder name {directory.name!r}", where)
    entries = []
    for item in _require(data, "patches", list, where):
        if not isinstance(item, dict):
            raise CatalogError("each entry of 'patches' must be a mapping", where)
        file = _require(item, "file", str, where)
        if "/" in file or "\\" in file or file.startswith("."):
            raise CatalogError(f"patch file {file!r} must be a plain name inside the series folder", where)
        component = _require(item, "component", str, where)
        if component not in COMPONENTS:
            raise CatalogError(f"{file}: unknown component {component!r} (known: {', '.join(COMPONENTS)})", where)
        entries.append(PatchEntry(file, component, str(item.get("description", ""))))
    if not entries:
        raise CatalogError("'patches' is empty", where)
    return Series(
        id=series_id,
        description=str(data.get("description", "")),
        librechat=_string_list(data, "librechat", where),
        patches=tuple(entries),
        directory=directory,
        native=bool(data.get("native", False)),
        requires=_string_list(data, "requires", where),
    )


def load_catalog(directory: Path | None = None) -> Catalog:
    root = directory if directory is not None else default_catalog_dir()
    if not root.is_dir():
        raise CatalogError("patch catalog folder not found", str(root))
    series = {}
    for child in sorted(root.iterdir()):
        if child.is_dir() and (child / "series.yaml").exists():
            loaded = load_series(child)
            series[loaded.id] = loaded
    for loaded in series.values():
        for required in loaded.requires:
            if required not in series:
                raise CatalogError(f"requires unknown series {required!r}", str(loaded.directory / "series.yaml"))
    return Catalog(root, series)
