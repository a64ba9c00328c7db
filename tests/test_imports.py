"""The package's structure, read from its imports: no file imports itself through others, and evaluation reads runs
without reaching into the training code.

Every import counts, also those inside functions and under `if TYPE_CHECKING:`: a loop hidden in a function is a
loop all the same for the reader who follows it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("vaegan", "metrics")


def module_files(root: Path, packages=PACKAGES) -> dict[str, Path]:
    """{dotted module name: file}; a package's __init__.py is the package's own name."""
    files = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def imported_modules(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The modules of `known` that the file imports, anywhere in it. `from pkg import sub` names pkg.sub when that is
    a module of its own, else pkg (an __init__)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            # `import vaegan.data.batches` also runs vaegan.data's __init__, but the file it depends on is the last
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def import_graph(root: Path = REPO, packages=PACKAGES) -> dict[str, set[str]]:
    known = module_files(root, packages)
    return {name: imported_modules(path, name, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iteratively)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_loop_hidden_in_a_function_and_under_type_checking(tmp_path):
    pkg = tmp_path / "vaegan"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from vaegan.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..c import C\n")
    (pkg / "c.py").write_text("import vaegan.a\n")
    (pkg / "d.py").write_text("from vaegan import c\n")  # imports into the loop, is not part of it
    graph = import_graph(tmp_path, ("vaegan",))
    assert graph["vaegan.a"] == {"vaegan.sub.b"} and graph["vaegan.sub.b"] == {"vaegan.c"}
    assert cycles(graph) == [["vaegan.a", "vaegan.c", "vaegan.sub.b"]]


def test_no_import_cycle_between_files():
    found = cycles(import_graph())
    assert not found, "import cycles (each line: files that import each other in a loop):\n" + "\n".join(
        " <-> ".join(c) for c in found)


def test_evaluation_does_not_import_training():
    """Scoring a run needs its checkpoint and networks (vaegan.checkpoint, vaegan.models), not the training loop."""
    graph = import_graph()
    offenders = sorted(f"{m} -> {t}" for m, targets in graph.items() if m.startswith("vaegan.evaluation")
                       for t in targets if t.startswith("vaegan.training"))
    assert not offenders, "evaluation imports training:\n" + "\n".join(offenders)
