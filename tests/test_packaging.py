"""The wheel carries the catalog, and an installed copy finds every series in it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from librechat_dynmodels.catalog import default_catalog_dir, load_catalog

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("hatchling", reason="hatchling (a dev dependency) builds the wheel")
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("librechat_dynmodels-*.whl")
    return built


def test_wheel_ships_every_series_of_the_catalog(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for series in load_catalog(ROOT / "patches").series.values():
        assert f"librechat_dynmodels/patches/{series.id}/series.yaml" in names
        for entry in series.patches:
            assert f"librechat_dynmodels/patches/{series.id}/{entry.file}" in names


def test_wheel_ships_the_node_driver_of_doctor_probe(wheel: Path) -> None:
    from librechat_dynmodels.probe import DRIVER

    archive = zipfile.ZipFile(wheel)
    assert archive.read(f"librechat_dynmodels/{DRIVER.name}") == DRIVER.read_bytes()


def test_installed_wheel_finds_its_own_catalog(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "librechat_dynmodels", "--json", "list"],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(target)),
        cwd=tmp_path,
        timeout=60,
    )
    data = json.loads(listed.stdout)["data"]
    assert Path(data["catalog"]) == target / "librechat_dynmodels" / "patches"
    assert sorted(s["id"] for s in data["series"]) == sorted(load_catalog(ROOT / "patches").series)


def test_source_checkout_uses_the_top_level_catalog() -> None:
    assert default_catalog_dir() == ROOT / "patches"
