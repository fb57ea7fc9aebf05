"""The one-way layout of ``../shared/DESIGN.md``, checked on the source.

Every ``import`` in ``tfsep/`` (at module level or inside a function: a
lazy import is still a dependency) is read with ``ast``, resolved to the
tfsep module it names, and checked for three things:

* every imported tfsep module exists (a lazy import of a moved one would
  fail only when its code path runs);
* no cycle between modules;
* packages import only packages below them in ``LAYERS`` (within a package,
  any direction, as long as there is no cycle);
* no module imports another module's ``_private`` name, neither as
  ``from m import _name`` nor as ``m._name`` on an imported module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "tfsep"

# Lowest first.  A package may import the packages before it, never after.
LAYERS = [
    "errors",
    "console",
    "config",
    "audio",
    "models",
    "pretrained",
    "separation",
    "data",
    "baselines",
    "evaluation",
    "training",
    "export",
    "catalogue",
    "live",
    "cli",
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(name: str, path: Path):
    """``(imported tfsep module, names taken from it, line)`` for every import in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "tfsep":
                    yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(name, is_package, node.level, node.module)
            if source.split(".")[0] != "tfsep":
                continue
            plain = []
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in MODULES:  # ``from package import module``: a dependency on that module
                    yield sub, [], node.lineno
                else:
                    plain.append(alias.name)
            if plain or source not in MODULES:
                yield source, plain, node.lineno


def _graph() -> dict[str, set[str]]:
    graph = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in _imports(name, path):
            if target != name and target in MODULES:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_the_walker_sees_the_layout():
    # Guards the guard: an empty or mis-resolved graph would pass every test below.
    graph = _graph()
    assert "tfsep.separation.separator" in graph and "tfsep.cli" in graph
    assert "tfsep.separation.options" in graph["tfsep.separation.separator"]
    assert "tfsep.separation.plan" in graph["tfsep.separation.options"]
    assert "tfsep.audio.codecs" in graph["tfsep.audio.writer"]
    assert "tfsep.audio.channels" in graph["tfsep.data.pipeline"]  # ``from ..audio.channels import remix``
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_import_names_a_module_that_exists():
    # A lazy import of a moved module fails only when that code path runs: find it here.
    missing = []
    for name, path in MODULES.items():
        for target, _, line in _imports(name, path):
            if target not in MODULES:
                missing.append(f"{path.relative_to(ROOT.parent)}:{line} imports {target}, which does not exist")
    assert missing == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_every_package_has_a_layer():
    packages = {_package(m) for m in MODULES} - {None}
    assert packages <= set(LAYERS), f"add {sorted(packages - set(LAYERS))} to LAYERS (and DESIGN.md)"


def test_imports_go_downward_only():
    rank = {p: i for i, p in enumerate(LAYERS)}
    wrong = []
    for name, targets in _graph().items():
        src = _package(name)
        for target in targets:
            dst = _package(target)
            if src is None or dst is None or src == dst:
                continue  # the tfsep facade, or within one package
            if rank[dst] > rank[src]:
                wrong.append(f"{name} imports {target} ({dst} is above {src})")
    assert wrong == []


def test_no_private_names_cross_modules():
    wrong = []
    for name, path in MODULES.items():
        aliases = {}
        for target, names, line in _imports(name, path):
            if target == name:
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    wrong.append(f"{path.relative_to(ROOT.parent)}:{line} imports {n} from {target}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(name, path.name == "__init__.py", node.level, node.module)
                for alias in node.names:
                    if f"{source}.{alias.name}" in MODULES:
                        aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name in MODULES:
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                wrong.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} uses {aliases[node.value.id]}.{node.attr}")
    assert wrong == []


@pytest.mark.parametrize("package", sorted({_package(m) for m in MODULES} - {None, "errors"}))
def test_each_package_says_what_it_offers(package):
    init = ROOT / package / "__init__.py"
    assert init.is_file(), f"tfsep/{package} is not a package"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc.splitlines()) >= 2, f"tfsep/{package}/__init__.py needs a docstring naming its modules"


def test_every_folder_the_package_ships_is_a_declared_package():
    """setup.cfg's package discovery covers the data folders (configs/, pretrained/shipped/): an install
    of tfsep prints no setuptools warning that an importable folder is absent from ``packages``."""
    import configparser
    import os

    from setuptools import find_namespace_packages

    repo = ROOT.parent
    cfg = configparser.ConfigParser()
    cfg.read(repo / "setup.cfg")
    assert cfg["options"]["packages"].strip() == "find_namespace:"
    find = cfg["options.packages.find"]
    split = lambda v: [x.strip() for x in v.replace("\n", ",").split(",") if x.strip()]  # noqa: E731
    found = set(find_namespace_packages(str(repo), include=split(find["include"]), exclude=split(find["exclude"])))
    shipped = set()
    for folder, dirs, _ in os.walk(ROOT, followlinks=True):  # configs/ is a link into the package
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        parts = Path(folder).relative_to(repo).parts
        if all(part.isidentifier() for part in parts):
            shipped.add(".".join(parts))
    assert {"tfsep.configs", "tfsep.configs.zoo", "tfsep.pretrained.shipped"} <= shipped
    assert shipped <= found, shipped - found
