"""The package's structure holds: no import cycles between modules or between subpackages, each subpackage imports
only the layers under it, and few modules are left flat.

Every import counts, also those inside functions (a lazy import is still a dependency); only imports under
``if TYPE_CHECKING:`` (annotations) are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "ambientgen"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{root}.{alias.name}" if f"{root}.{alias.name}" in modules else root
                           for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ambientgen"):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("ambientgen")]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_module_imports_a_module_that_imports_it_back():
    graph = import_graph()
    assert "ambientgen.rendering.pipeline" in graph["ambientgen.cli.commands"]  # the walk sees lazy imports inside functions
    assert cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_studio_imports_the_public_api():
    graph = import_graph()
    importers = sorted(m for m, deps in graph.items() if "ambientgen" in deps)
    # modules read the version from ambientgen._version; the studio sits on the public API as a user's program does
    assert importers == ["ambientgen.studio.app", "ambientgen.studio.state"], importers


def test_the_studio_uses_only_the_public_api():
    graph = import_graph()
    studio = [m for m in graph if m.startswith("ambientgen.studio")]
    assert studio
    for module in studio:
        inner = sorted(d for d in graph[module] if d != "ambientgen" and not d.startswith("ambientgen.studio"))
        assert inner == [], (module, inner)


def test_backends_are_known_only_to_the_registry():
    """No module outside ``backends/`` compares backend names or probes a backend with hasattr."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "backends" in path.relative_to(PACKAGE).parts:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if '"audioldm2"' in line or '"procedural"' in line or "hasattr(" in line:
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []


# Each subpackage and the subpackages (or flat modules) it may import: the layers of docs/architecture.md.
# The flat base (errors, progress, units, runtime, _version) is open to all.
BASE = {"errors", "progress", "units", "runtime", "_version"}
ALLOWED = {
    "audio": set(),
    "backends": set(),
    "scene": {"backends"},
    "planner": {"scene"},
    "check": {"audio"},
    "output": {"audio"},
    "rendering": {"audio", "backends", "scene", "planner", "check", "output"},
    "cli": {"backends", "scene", "rendering", "check", "output", "studio"},
    "studio": {"ambientgen"},  # the public API only, as a user's program
    "testing": {"backends"},
    "ambientgen": {"backends", "scene", "rendering", "check"},
}


def _unit(module: str) -> str:
    """The subpackage (or flat module) a module belongs to; the package's ``__init__`` is ``ambientgen``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "ambientgen"


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    units: dict[str, set[str]] = {}
    for module, deps in graph.items():
        units.setdefault(_unit(module), set()).update(_unit(d) for d in deps if _unit(d) != _unit(module))
    return units


def test_subpackages_import_each_other_without_cycles():
    assert cycles(package_graph(import_graph())) == []


def test_each_subpackage_imports_only_the_layers_under_it():
    graph = import_graph()
    wrong = sorted(f"{module} -> {dep}" for module, deps in graph.items() for dep in deps
                   if _unit(dep) != _unit(module) and _unit(dep) not in BASE
                   and _unit(dep) not in ALLOWED.get(_unit(module), set()))
    assert wrong == []


def test_the_layer_check_sees_a_wrong_import():
    graph = {"ambientgen.audio.stitch": {"ambientgen.rendering.engine"}, "ambientgen.rendering.engine": set()}
    assert package_graph(graph) == {"audio": {"rendering"}, "rendering": set()}
    assert "rendering" not in ALLOWED["audio"]


def test_at_most_eight_modules_are_left_flat():
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 8, flat
    assert not (set(ALLOWED) - {"ambientgen", "testing"}) - {p.name for p in PACKAGE.iterdir() if p.is_dir()}


def test_the_package_loads_its_renderer_and_backends_when_first_used():
    """``import ambientgen`` (and so ``ambientgen check``) loads no backend, renderer or scipy.signal; every public
    name still resolves, once, and an unknown one is an AttributeError."""
    import subprocess
    import sys

    code = ("import sys, ambientgen\n"
            "heavy = [m for m in sys.modules if m.startswith(('ambientgen.backends', 'ambientgen.rendering', "
            "'scipy.signal', 'torch'))]\n"
            "assert not heavy, heavy\n"
            "for name in ambientgen.__all__:\n"
            "    assert getattr(ambientgen, name) is getattr(ambientgen, name), name\n"
            "assert set(ambientgen.__all__) <= set(dir(ambientgen))\n"
            "from ambientgen import render, Scene\n"
            "assert render.__module__ == 'ambientgen.rendering.pipeline' and Scene.__name__ == 'Scene'\n"
            "try:\n"
            "    ambientgen.no_such_name\n"
            "except AttributeError as e:\n"
            "    assert 'no_such_name' in str(e)\n"
            "else:\n"
            "    raise SystemExit('no AttributeError')\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent)
    assert run.returncode == 0, run.stderr
