"""The layering of docs/architecture.md holds: each package imports only the packages it lists there.

The allowed directions are read from the ``layers`` block of docs/architecture.md, so the page and
the test cannot disagree. Imports under ``if TYPE_CHECKING:`` are annotations, not dependencies,
and are not counted; imports inside functions are (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lenasched"
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def layers(text: str) -> dict[str, set[str]]:
    """The ``layers`` block of an architecture page: area -> the areas it may import."""
    block = re.search(r"```layers\n(.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ```layers block"
    allowed: dict[str, set[str]] = {}
    for line in block.group(1).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            area, _, targets = line.partition("->")
            allowed[area.strip()] = set(targets.split())
    return allowed


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {_module(p): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}
ALLOWED = layers(ARCHITECTURE.read_text(encoding="utf-8"))


def area(module: str) -> str:
    """The architectural area of a module: its subpackage, or the module itself at the top level."""
    parts = module.split(".")
    return "lenasched" if len(parts) == 1 else parts[1]


def imports(source: str, modules: Mapping[str, str], *, top_level_only: bool = False) -> set[str]:
    """The lenasched modules a module's source imports (the code base uses absolute imports only)."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    out: set[str] = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import; use absolute lenasched.* imports"
            if node.module and node.module.split(".")[0] == "lenasched":
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    out.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "lenasched")
    return out


def violations(sources: Mapping[str, str], allowed: Mapping[str, set[str]]) -> list[str]:
    """Every import that goes in a direction the layers do not allow, as 'from -> to'."""
    wrong: dict[tuple[str, str], list[str]] = defaultdict(list)
    for module, source in sources.items():
        for target in imports(source, sources):
            here, there = area(module), area(target)
            if there != here and there not in allowed.get(here, set()):
                wrong[(here, there)].append(f"{module} -> {target}")
    return [f"{a} -> {b}: {', '.join(sorted(v))}" for (a, b), v in sorted(wrong.items())]


def module_cycles(sources: Mapping[str, str]) -> list[str]:
    """Cycles among module-level imports (a package importing its own submodules does not count)."""
    graph = {
        m: {t for t in imports(s, sources, top_level_only=True) if t in sources and t != m} for m, s in sources.items()
    }
    state: dict[str, int] = {}
    found: list[str] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if module.startswith(target + ".") or target.startswith(module + "."):
                continue
            if state.get(target) == 1:
                found.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


def layer_cycles(allowed: Mapping[str, set[str]]) -> list[str]:
    found: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(allowed.get(name, set())):
            if state.get(target) == 1:
                found.append(" -> ".join([*path, target]))
            elif target not in state:
                visit(target, [*path, target])
        state[name] = 2

    for name in sorted(allowed):
        if name not in state:
            visit(name, [name])
    return found


def test_the_layers_block_names_every_area() -> None:
    missing = {area(m) for m in SOURCES} - set(ALLOWED)
    assert not missing, f"areas missing from the layers block of docs/architecture.md: {sorted(missing)}"


def test_every_import_goes_in_an_allowed_direction() -> None:
    assert violations(SOURCES, ALLOWED) == []


def test_the_layers_have_no_cycle() -> None:
    assert layer_cycles(ALLOWED) == []


def test_no_import_cycle_between_modules() -> None:
    assert module_cycles(SOURCES) == []


def test_the_checks_catch_what_they_are_for() -> None:
    """The checkers themselves: an engine module importing the CLI, a cycle of modules, a cycle of layers."""
    broken = {
        "lenasched.engine.plan": "from lenasched.cli.main import main\n",
        "lenasched.cli.main": "def main() -> int:\n    return 0\n",
    }
    assert violations(broken, ALLOWED) == ["engine -> cli: lenasched.engine.plan -> lenasched.cli.main"]
    typed = {"lenasched.engine.plan": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import lenasched.cli\n"}
    assert violations(typed, ALLOWED) == []
    cycle = {"lenasched.model.a": "import lenasched.model.b\n", "lenasched.model.b": "import lenasched.model.a\n"}
    assert module_cycles(cycle) == ["lenasched.model.a -> lenasched.model.b -> lenasched.model.a"]
    assert layer_cycles({"a": {"b"}, "b": {"a"}}) == ["a -> b -> a"]
