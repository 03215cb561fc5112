"""The package's layers: imports point down, never up, and never in a cycle.

harnb is layered (see ``harnb/__init__.py``): the foundation modules, then data → models →
training → study → (book | pretrained) → cli. A module may import its own layer and those
below; this test parses every module's imports (``TYPE_CHECKING`` and function-level ones
included) and fails on an upward or sideways-across-the-top import and on any cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "harnb"

#: Layer of each top-level part of the package, bottom first. book and pretrained share a
#: level but may not import each other: the book renders committed files, the user tools
#: fine-tune and export models.
LAYERS: dict[str, int] = {
    "config": 0,
    "paper": 0,
    "data": 1,
    "models": 2,
    "training": 3,
    "study": 4,
    "book": 5,
    "pretrained": 5,
    "cli": 6,
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The harnb module an import names (the longest known prefix), or None."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Every harnb module that ``path`` imports, anywhere in its body."""
    tree = ast.parse(path.read_text(), filename=str(path))
    this = _module_name(path)
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import
                base = this.split(".") if is_pkg else this.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # ``from pkg import mod`` depends on the submodule; ``from pkg import name`` on pkg
            names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod for a in node.names]
        for n in names:
            if n == "harnb" or n.startswith("harnb."):
                r = _resolve(n, known)
                if r and r != this and r != "harnb":
                    out.add(r)
    return out


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    if len(parts) < 2:
        return "harnb", -1
    top = parts[1]
    if top not in LAYERS:
        raise AssertionError(f"{module}: part {top!r} has no layer; add it to LAYERS")
    return top, LAYERS[top]


def graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: imports_of(p, known) for m, p in known.items()}


def test_every_module_belongs_to_a_layer():
    for m in _modules():
        layer_of(m)


def test_imports_point_down_the_layers():
    bad = []
    for m, deps in graph().items():
        top, lv = layer_of(m)
        for d in deps:
            dtop, dlv = layer_of(d)
            if dlv > lv or (dlv == lv and dtop != top):
                bad.append(f"{m} ({top}) imports {d} ({dtop})")
    assert not bad, "imports that point up or across the layers:\n" + "\n".join(sorted(bad))


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``g`` as a list of modules, or None (iterative DFS)."""
    state: dict[str, int] = {}
    for root in sorted(g):
        if state.get(root):
            continue
        stack = [(root, iter(sorted(g[root])))]
        path = [root]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if nxt not in g:
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(sorted(g[nxt]))))
                path.append(nxt)
    return None


def test_no_import_cycle():
    # a package's __init__ importing its own modules is how a package exposes its API; a
    # module importing its package's __init__ back is the cycle we look for
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


@pytest.mark.parametrize("part", [p for p in LAYERS if (PKG / p).is_dir()])
def test_each_subpackage_says_what_lives_there(part):
    doc = ast.get_docstring(ast.parse((PKG / part / "__init__.py").read_text()))
    assert doc and "import" in doc.lower(), f"harnb/{part}/__init__.py must say what it may import"
