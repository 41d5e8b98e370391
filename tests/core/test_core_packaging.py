"""Packaging metadata that installs quietly: an SPDX license string with its file, data listed.

setuptools (>= 77) warns on every install when ``project.license`` is a TOML table, and when a
data folder that looks like a package is not listed; these checks keep those warnings away.
"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_with_the_matching_file() -> None:
    data = _project()
    license_ = data["project"]["license"]
    assert isinstance(license_, str) and license_ == "Apache-2.0"
    files = data["project"]["license-files"]
    assert files == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    requires = data["build-system"]["requires"]
    assert any(item.replace(" ", "").startswith("setuptools>=") and int(item.split(">=")[1].split(".")[0]) >= 77 for item in requires)


def test_every_folder_shipped_as_data_is_a_listed_package() -> None:
    data = _project()["tool"]["setuptools"]
    packages = set(data["packages"])
    assert set(data["package-data"]) <= packages
    assets = ROOT / "agents" / "assets"
    assert "rootspan.agents.assets" in packages and any(assets.rglob("*.safetensors"))
