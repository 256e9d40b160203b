"""The package's layers, read from the source (ast): imports point one way and never cycle.

    foundation (errors, settings, files) <- core <- analysis <- app
                                            core <- embed <- scale
    cli uses core, analysis, embed and scale; app uses core, analysis, embed and scale.

torch, open_clip and transformers are imported only in ``embed/`` and ``scale/``, ray only in
``scale/``, streamlit only in ``app/``, plotly / umap / openTSNE only in ``analysis/`` (and the
app, which draws), Pillow only in ``embed/`` and ``app/``. ``app.py`` and ``pages/`` are layout:
they import ``bliss_core.app`` and ``bliss_core.core`` only. Function-level imports count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "bliss_core"
FOUNDATION = {"bliss_core.errors", "bliss_core.settings", "bliss_core.files"}
ENTRY_POINTS = {"bliss_core": {"core"}, "bliss_core.__main__": {"cli"}}  # the public API and `python -m`
LAYERS = ("core", "analysis", "embed", "scale", "cli", "app")
ALLOWED = {  # layer -> the layers it may import (foundation is always allowed)
    "foundation": set(),
    "core": {"core"},
    "analysis": {"core", "analysis"},
    "embed": {"core", "embed"},
    "scale": {"core", "embed", "scale"},
    "cli": {"core", "analysis", "embed", "scale", "cli"},
    "app": {"core", "analysis", "embed", "scale", "app"},
    **ENTRY_POINTS,
}
THIRD_PARTY = {  # top-level package -> layers where it may be imported
    "torch": {"embed", "scale"},
    "torchvision": {"embed", "scale"},
    "open_clip": {"embed", "scale"},
    "transformers": {"embed", "scale"},
    "ray": {"scale"},
    "streamlit": {"app"},
    "plotly": {"analysis", "app"},
    "umap": {"analysis"},
    "openTSNE": {"analysis"},
    "PIL": {"embed", "app"},
    "pandas": {"app"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _layer(module: str) -> str:
    if module in FOUNDATION:
        return "foundation"
    if module in ENTRY_POINTS:
        return module
    return module.split(".")[1]


def _typing_only(tree: ast.AST) -> set[int]:
    """Ids of the nodes inside ``if TYPE_CHECKING:`` blocks: they never run, so they make no cycle."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If)
            and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING"
        ):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(path: Path, module: str, known: set[str], runtime: bool = False) -> list[str]:
    """Every module a file imports (absolute names), at any depth of the file; with ``runtime``,
    less those imported for type checking only."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    skip = _typing_only(tree) if runtime else set()
    out: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append(sub if sub in known else target)
    return out


GRAPH = {m: _imports(p, m, set(_modules())) for m, p in _modules().items()}
RUNTIME_GRAPH = {m: _imports(p, m, set(_modules()), runtime=True) for m, p in _modules().items()}


def test_the_layers_exist():
    for layer in LAYERS:
        assert (PKG / layer / "__init__.py").is_file(), layer
    assert {_layer(m) for m in GRAPH} == {"foundation", *LAYERS, *ENTRY_POINTS}
    for name in ("errors", "settings"):
        assert (PKG / f"{name}.py").is_file()


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_point_one_way(module):
    layer = _layer(module)
    for target in GRAPH[module]:
        top = target.split(".")[0]
        if top == "bliss_core":
            tl = _layer(target)
            if tl == "foundation":
                assert layer != "foundation" or target in ("bliss_core.errors",), (module, target)
                continue
            assert tl in ALLOWED[layer], f"{module} ({layer}) imports {target} ({tl})"
        elif top in THIRD_PARTY:
            assert layer in THIRD_PARTY[top], f"{module} ({layer}) imports {target}"


def test_no_import_cycles():
    internal = {m: {t for t in ts if t in GRAPH and t != m} for m, ts in RUNTIME_GRAPH.items()}
    # a package's __init__ is executed before its modules, so an edge into a package is an edge
    # into its __init__ as well: that is how `from . import x` cycles arise
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in internal[m]:
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t) :] + [t]))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(internal):
        if m not in state:
            visit(m)


@pytest.mark.parametrize(
    "path", [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))], ids=lambda p: p.name
)
def test_pages_are_layout(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            if name.startswith("bliss_core"):
                assert name.startswith(("bliss_core.app", "bliss_core.core")), f"{path.name} imports {name}"
            assert name.split(".")[0] not in ("torch", "open_clip", "transformers", "ray", "umap", "openTSNE")


def test_every_setting_is_read_in_settings():
    """BLISS_* variables are named in settings.py only (elsewhere they appear in messages)."""
    for path in PKG.rglob("*.py"):
        if path.name == "settings.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert 'os.environ.get("BLISS_' not in text and 'os.getenv("BLISS_' not in text, path
        assert 'environ["BLISS_' not in text, path
