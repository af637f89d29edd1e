"""Small LibreChat-shaped trees and small patch series, built from dicts in temp folders."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from librechat_dynmodels.catalog import Catalog, load_catalog
from librechat_dynmodels.checkout import Checkout, find_checkout
from librechat_dynmodels.diffs import render_git_diff

CONTROLLER = """\
const { getLogStores } = require('~/cache');

async function loadModels(req) {
  const cache = getLogStores('CONFIG_STORE');
  const cached = await cache.get('MODELS_CONFIG');
  if (cached) {
    return cached;
  }
  const config = await loadDefaultModels(req);
  await cache.set('MODELS_CONFIG', config);
  return config;
}

async function modelController(req, res) {
  const modelConfig = await loadModels(req);
  res.send(modelConfig);
}

module.exports = { modelController, loadModels };
"""

ROUTES = """\
const express = require('express');
const { modelController } = require('~/server/controllers/ModelController');
const { requireJwtAuth } = require('~/server/middleware/');

const router = express.Router();
router.get('/', requireJwtAuth, modelController);

module.exports = router;
"""

HOOK = """\
import { useCallback } from 'react';

const useUserKey = (endpoint: string) => {
  const saveUserKey = useCallback(() => {
    updateKey.mutate({ name: endpoint });
  }, [endpoint]);
  return { saveUserKey };
};

export default useUserKey;
"""


def librechat_files(version: str = "v0.8.3") -> dict[str, str | bytes]:
    return {
        "package.json": json.dumps({"name": "LibreChat", "version": version}),
        "api/server/controllers/ModelController.js": CONTROLLER,
        "api/server/routes/models.js": ROUTES,
        "client/src/hooks/Input/useUserKey.ts": HOOK,
        "packages/data-provider/package.json": "{}\n",
    }


def build_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    for relpath, content in files.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode("utf-8"))
    return root


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file below ``root`` with its bytes and permission bits (folders as empty)."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames + dirnames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_dir():
                result[rel + "/"] = (b"", 0)
            else:
                result[rel] = (path.read_bytes(), path.stat().st_mode & 0o7777)
    return result


def git_diff(changes: Mapping[str, tuple[str | None, str]], modes: Mapping[str, int] | None = None) -> str:
    """A git-style unified diff (3 lines of context) from {path: (old text or None, new text)}."""
    modes = modes or {}
    return "".join(
        render_git_diff(path, None if old is None else old.encode(), new.encode(), modes.get(path, 0o644))
        for path, (old, new) in changes.items()
    )


# The edits of the test series: one per component, plus a created file.
PATCHED_CONTROLLER = CONTROLLER.replace(
    "  await cache.set('MODELS_CONFIG', config);\n  return config;\n",
    "  await cache.set('MODELS_CONFIG', config);\n  return overlayUserModels(req, config);\n",
).replace(
    "const { getLogStores } = require('~/cache');\n",
    "const { getLogStores } = require('~/cache');\n"
    "const { overlayUserModels } = require('~/server/services/UserModels');\n",
)
PATCHED_ROUTES = ROUTES.replace(
    "router.get('/', requireJwtAuth, modelController);\n",
    "router.get('/', requireJwtAuth, modelController);\n"
    "router.post('/fetch', requireJwtAuth, fetchUserModelsController);\n",
)
NEW_SERVICE = (
    "async function overlayUserModels(req, config) {\n  return config;\n}\n\nmodule.exports = { overlayUserModels };\n"
)
PATCHED_HOOK = HOOK.replace(
    "    updateKey.mutate({ name: endpoint });\n",
    "    updateKey.mutate({ name: endpoint });\n    refreshModels.mutate({ endpoint, force: true });\n",
)


def write_series(
    catalog: Path,
    series_id: str = "dynmodels-test",
    releases: tuple[str, ...] = ("v0.8.3",),
    patches: Mapping[str, tuple[str, str]] | None = None,
    native: bool = False,
    requires: tuple[str, ...] = (),
    installs: Mapping[str, list[str | dict[str, str]]] | None = None,
) -> Path:
    """A series folder; ``patches`` maps file name to (component, diff text), ``installs`` a patch file
    name to its ``install:`` list (feature files, written with :func:`write_feature`)."""
    if patches is None:
        patches = {
            "0001-backend.patch": (
                "backend",
                git_diff(
                    {
                        "api/server/controllers/ModelController.js": (CONTROLLER, PATCHED_CONTROLLER),
                        "api/server/routes/models.js": (ROUTES, PATCHED_ROUTES),
                        "api/server/services/UserModels/index.js": (None, NEW_SERVICE),
                    }
                ),
            ),
            "0002-client.patch": (
                "client",
                git_diff({"client/src/hooks/Input/useUserKey.ts": (HOOK, PATCHED_HOOK)}),
            ),
        }
    folder = catalog / series_id
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (component, text) in patches.items():
        (folder / name).write_text(text, encoding="utf-8")
        entries.append(f"  - file: {name}\n    component: {component}\n    description: test patch {name}\n")
        if installs and name in installs:
            entries.append(f"    install: {json.dumps(installs[name])}\n")
    (folder / "series.yaml").write_text(
        f"id: {series_id}\ndescription: test series\nlibrechat: {json.dumps(list(releases))}\n"
        f"native: {'true' if native else 'false'}\nrequires: {json.dumps(list(requires))}\npatches:\n"
        + "".join(entries),
        encoding="utf-8",
    )
    return folder


def write_feature(catalog: Path, files: Mapping[str, str | bytes]) -> Path:
    """The catalog's feature folder: each shared file once, below ``feature/``."""
    return build_tree(catalog / "feature", files)


def git(repo: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.email=t@t", "-c", "user.name=t", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def committed_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    build_tree(root, files)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    return root


ROUTE_GET = "router.get('/', requireJwtAuth, modelController);\n"
ROUTE_ALL = "router.get('/all', requireJwtAuth, allModels);\n"  # where the series adds its route: a conflict


def port_mirror(work: Path) -> Path:
    """A LibreChat mirror for port: v0.8.3 as the test series expects it, and v0.8.4 with a change two lines
    above a hunk's edit (merges cleanly) and a route added where the series adds its own (conflicts, also
    word by word)."""
    repo = committed_tree(work, librechat_files("v0.8.3"))
    git(repo, "tag", "v0.8.3")
    build_tree(
        repo,
        {
            "package.json": '{"name": "LibreChat", "version": "v0.8.4"}',
            "api/server/controllers/ModelController.js": CONTROLLER.replace(
                "await loadDefaultModels(req);", "await loadDefaultModels(req, true);"
            ),
            "api/server/routes/models.js": ROUTES.replace(ROUTE_GET, ROUTE_GET + ROUTE_ALL),
        },
    )
    git(repo, "commit", "-qam", "v0.8.4")
    git(repo, "tag", "v0.8.4")
    return repo / ".git"


def export(mirror: Path, tag: str, into: Path) -> Path:
    """``tag`` of the mirror as a tree below ``into`` (``git archive``: no .git)."""
    import io
    import subprocess
    import tarfile

    data = subprocess.run(["git", "--git-dir", str(mirror), "archive", tag], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="tar")
    return into


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "librechat", librechat_files())


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    write_series(folder)
    return folder


@pytest.fixture
def catalog(catalog_dir: Path) -> Catalog:
    return load_catalog(catalog_dir)


@pytest.fixture
def checkout(tree: Path) -> Checkout:
    return find_checkout(tree)


@pytest.fixture
def reload() -> Callable[[Path], Checkout]:
    return find_checkout


@pytest.fixture
def stderr_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A person watching: stderr is a terminal (stdout is whatever the test captures)."""
    from librechat_dynmodels import cli

    monkeypatch.setattr(cli, "_is_terminal", lambda stream: stream is sys.stderr)


def dev_tool(name: str) -> str | None:
    """A linter from the dev extras: the one installed beside this Python, else one on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)
