"""The layers of the code base: the domain (services' `service/` and repository modules, and
the parts of `shared/` they use) never loads the web framework, and `shared/` has no import
cycles. Modules are discovered by globbing, so new ones are covered without editing this test."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_PACKAGES = ("fastapi", "starlette")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def domain_modules() -> list[str]:
    paths = [*ROOT.glob("services/*/service/*.py"), *ROOT.glob("services/*/service/**/*.py"),
             *ROOT.glob("services/*/repository*.py"), *ROOT.glob("services/*/repository/**/*.py")]
    return sorted({_module_name(p) for p in paths})


def test_domain_modules_are_found() -> None:
    modules = domain_modules()
    assert any(".service." in m for m in modules)
    assert any(m.endswith(".repository") for m in modules)


def test_service_and_repository_modules_do_not_load_the_web_framework() -> None:
    script = (
        "import importlib, sys\n"
        f"for name in {domain_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {WEB_PACKAGES!r})\n"
        "print('\\n'.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"web framework loaded by domain modules: {done.stdout.split()[:10]}"


def _imports_of(path: Path, known: set[str]) -> set[str]:
    """The shared/ modules `path` imports (module-level and inside functions; not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                names = [base, *(f"{base}.{alias.name}" for alias in child.names)]
            else:
                visit(child)
                continue
            for name in names:
                while name and name not in known:
                    name = name.rpartition(".")[0]
                if name and name != me:
                    found.add(name)

    visit(tree)
    return found


def shared_import_graph() -> dict[str, set[str]]:
    paths = sorted((ROOT / "shared").rglob("*.py"))
    known = {_module_name(p) for p in paths}
    return {_module_name(p): _imports_of(p, known) for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_shared_has_no_import_cycles() -> None:
    graph = shared_import_graph()
    assert "shared.errors" in graph
    cycle = _cycle(graph)
    assert cycle is None, "import cycle in shared/: " + " -> ".join(cycle)
