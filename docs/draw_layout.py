"""Draw docs/architecture.png: the package's subpackages as layers, their modules and lines, and the imports
between subpackages (read from the source with ``ast``, lazy imports included, annotations-only ones left out).

    python docs/draw_layout.py            # writes docs/architecture.png
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "ambientgen"
# top to bottom: who may import whom runs downwards only (tests/test_imports.py holds the code to it)
ROWS = [["cli", "studio"], ["ambientgen", "testing"], ["rendering"], ["planner", "output", "check"], ["scene"],
        ["backends", "audio"], ["errors · progress · units · runtime · _version"]]
BASE = {"errors", "progress", "units", "runtime", "_version"}


def unit(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "ambientgen"
    return "errors · progress · units · runtime · _version" if parts[1] in BASE else parts[1]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def edges(mods: dict[str, Path]) -> set[tuple[str, str]]:
    found = set()
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for child in node.body for n in ast.walk(child)}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if id(node) in skip or not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif (node.module or "").startswith("ambientgen"):
                target = node.module
            else:
                continue
            if target in mods and unit(target) != unit(name):
                found.add((unit(name), unit(target)))
    return found


def draw(out: Path) -> None:
    mods = modules()
    content: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for name, path in sorted(mods.items()):
        short = name.split(".", 2)[-1] if name.count(".") >= 2 else name.rpartition(".")[2]
        content[unit(name)].append((short, len(path.read_text(encoding="utf-8").splitlines())))
    fig, ax = plt.subplots(figsize=(13, 11))
    ax.set_xlim(0, 13)
    ax.set_ylim(-0.4, 11)
    ax.axis("off")
    centre = {}
    for r, row in enumerate(ROWS):
        y = 10.3 - r * 1.55
        width = 12.4 / len(row)
        for c, name in enumerate(row):
            x = 0.3 + c * width
            box = FancyBboxPatch((x + 0.1, y - 1.1), width - 0.2, 1.05, boxstyle="round,pad=0.02",
                                 fc="#eef3f8" if name != "ambientgen" else "#fdf3e1", ec="#4a6b8a")
            ax.add_patch(box)
            items = content.get(name, [])
            total = sum(n for _, n in items)
            title = {"ambientgen": "ambientgen/__init__.py (the public API)", "testing": "testing.py (tiny models)"
                     }.get(name, f"{name}/")
            if " · " in name:
                title = name + "  (flat modules)"
            ax.text(x + 0.2, y - 0.2, f"{title}   {total} lines", fontsize=10, weight="bold", va="center")
            listing = ", ".join(f"{m} {n}" for m, n in items if m not in (name, "__init__"))
            words, lines, line = listing.split(", "), [], ""
            per_line = int(width * 11)
            for w in words:
                if len(line) + len(w) + 2 > per_line:
                    lines.append(line)
                    line = ""
                line += (", " if line else "") + w
            lines.append(line)
            ax.text(x + 0.2, y - 0.42, "\n".join(lines[:4]), fontsize=7, va="top", family="monospace")
            centre[name] = (x + width / 2, y - 0.55)
    for a, b in sorted(edges(mods)):
        if a in centre and b in centre and not b.startswith("errors"):
            (x1, y1), (x2, y2) = centre[a], centre[b]
            start, end = ((x1 + 0.8, y1), (x2 - 0.8 * (1 if x2 > x1 else -1), y2)) if abs(y1 - y2) < 0.1 \
                else ((x1, y1 - 0.5), (x2, y2 + 0.5))  # a package beside it: a level arrow
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10,
                                         color="#c0504d", alpha=0.45, connectionstyle="arc3,rad=0.08"))
    ax.set_title("ambientgen: subpackages by concern; arrows are imports between them, always downwards "
                 "(every package may use the flat base)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    draw(Path(__file__).with_name("architecture.png"))
    print("wrote docs/architecture.png")
