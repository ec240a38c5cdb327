"""rxchat's modules import each other without a loop, lazy imports inside functions included: each layer
(services, states, the live hub, the API) can be read and changed without the others pulling it back."""

import ast
from pathlib import Path

import rxchat

PACKAGE = Path(rxchat.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from rxchat.api import deps` imports the module deps; `from rxchat.db import session`, rxchat.db.
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
    return {name for name in found if name in modules}


def test_no_module_of_rxchat_imports_itself_back():
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py") if "_alembic" not in p.parts}
    graph = {name: imports_of(path, set(paths)) - {name} for name, path in paths.items()}
    loops: list[list[str]] = []
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        trail.append(name)
        for other in sorted(graph[name]):
            if state.get(other) == 1:
                loops.append([*trail[trail.index(other) :], other])
            elif other not in state:
                visit(other)
        trail.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert len(graph) > 40, "the package's modules were not found"
    assert loops == [], "\n".join(" -> ".join(loop) for loop in loops)
