"""The shape of the code (DESIGN §3): every module sits in one layer of the import-linter contract,
the contracts hold, and no module imports another that imports it back — counting imports inside
functions, which grimp sees like any other."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "guilds", "dashboard_auth", "tracking", "integrations", "metrics", "earnings", "dashboard")


def _layer_entries() -> list[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    layers = config["importlinter:contract:layers"]["layers"].strip().splitlines()
    return [name.strip() for line in layers for name in line.replace("|", ":").split(":") if name.strip()]


def _project_modules(graph) -> set[str]:
    return {m for m in graph.modules if m.split(".")[0] in PACKAGES and ".migrations" not in m}


def _graph():
    sys.path.insert(0, str(ROOT))
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def test_every_module_is_in_a_layer():
    entries = _layer_entries()
    graph = _graph()
    packages = {m for m in _project_modules(graph) if graph.find_children(m)}
    modules = _project_modules(graph) - set(PACKAGES) - {m for m in packages if m.count(".") == 0}
    unplaced = sorted(
        m
        for m in modules
        if not any(m == e or m.startswith(e + ".") for e in entries)
        and not any(e.startswith(m + ".") for e in entries)  # a package whose children are placed
    )
    assert unplaced == [], f"Put these modules in a layer of setup.cfg [importlinter:contract:layers]: {unplaced}"


def test_no_module_imports_one_that_imports_it_back():
    graph = _graph()
    modules = sorted(_project_modules(graph))
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in modules and imported != module and graph.chain_exists(imported=module, importer=imported):
                cycles.append(f"{module} -> {imported} -> ... -> {module}")
    # package __init__ modules that re-export their children are not circles of behaviour
    cycles = [c for c in cycles if not c.split(" -> ")[1].startswith(c.split(" -> ")[0] + ".")]
    assert cycles == []


def test_the_import_contracts_hold():
    command = [str(Path(sys.executable).with_name("lint-imports")), "--config", str(ROOT / "setup.cfg")]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)  # noqa: S603
    assert result.returncode == 0, result.stdout[-3000:]
