"""The code's layout, read with ast: no import circle among the modules of seq2seq2seq and data_prep, the package
never needs data_prep to import, no private name is used outside its module, and scripts import the installed
package rather than editing ``sys.path``.

Private names: a name that starts with one underscore (not a dunder) belongs to the module that defines it. No
file of seq2seq2seq/, data_prep/, scripts/ or tests/ reaches one from outside, neither by ``from X import _name``
nor by ``X._name`` on an imported project module (or on a script a test loads by its path). One exception, for
tests only: tests/test_NAME.py, and tests/test_NAME_MORE.py, may use the privates of a module or package called NAME
(seq2seq2seq/eval/rouge.py for tests/test_rouge.py, scripts/benchmark.py for tests/test_benchmark.py, data_prep's
modules for tests/test_data_prep_safety.py), since a unit test of a module may test its parts; any other test goes
through public names. Conftest helpers used by several test files are public.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("seq2seq2seq", "data_prep")
CHECKED_FOLDERS = ("seq2seq2seq", "data_prep", "scripts", "tests")

# Private names knowingly reached from outside their module, "file: module.name" (none now; an entry must say why)
ALLOWED_FOR_NOW: set[str] = set()
# Scripts that still edit sys.path, by file name (none: the package is installed)
SYS_PATH_FOR_NOW: set[str] = set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of seq2seq2seq and data_prep by dotted name (a package by its own name)."""
    return {_module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))}


def _is_deferring_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` and ``if TYPE_CHECKING:`` bodies do not run when the module is imported."""
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("__name__ == '__main__'", "TYPE_CHECKING",
                                                                  "typing.TYPE_CHECKING")


def _is_type_checking_guard(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _imports(tree: ast.AST, deferred: bool = False) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement with whether it is deferred: inside a function (or under a guard that keeps it from
    running at import time) rather than run when the module is imported. A class body runs at import time."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, deferred
        inner = deferred or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        if _is_type_checking_guard(child):  # never runs: type annotations only, no circle at run time
            for statement in child.orelse:
                yield from _imports(ast.Module(body=[statement], type_ignores=[]), deferred=inner)
            continue
        if _is_deferring_guard(child):
            for statement in child.body:  # the else branch runs at import time
                yield from _imports(ast.Module(body=[statement], type_ignores=[]), deferred=True)
            for statement in child.orelse:
                yield from _imports(ast.Module(body=[statement], type_ignores=[]), deferred=inner)
            continue
        yield from _imports(child, inner)


def _base(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` reads from (relative imports resolved against ``importer``)."""
    if not node.level:
        return node.module or ""
    parts = importer.split(".") if is_package else importer.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def imported_modules(node: ast.Import | ast.ImportFrom, importer: str, modules: dict[str, Path]) -> set[str]:
    """The project modules an import statement loads: the named module, and the packages above it that are not
    already above the importer (their ``__init__`` runs first too)."""
    if isinstance(node, ast.Import):
        targets = {alias.name for alias in node.names}
    else:
        base = _base(node, importer, modules.get(importer, Path()).name == "__init__.py")
        targets = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    loaded = set()
    for target in targets:
        if target.split(".")[0] not in PACKAGES:
            continue
        parts = target.split(".")
        loaded |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    own = importer.split(".")
    return {m for m in loaded if m in modules and m != importer and m.split(".") != own[: len(m.split("."))]}


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(imports run at import time, deferred imports) of each module of seq2seq2seq and data_prep."""
    modules = package_modules()
    at_import: dict[str, set[str]] = {name: set() for name in modules}
    later: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node, deferred in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            (later if deferred else at_import)[name] |= imported_modules(node, name, modules)
    return at_import, later


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (``[a, b, ..., a]``) for each group of modules that import one another (Tarjan's strongly
    connected components, then a path round each group)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_circle(graph, group) for group in groups]


def _circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, through the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node] & group):
                if target == start:
                    return paths[node] + [start]
                if target not in paths:
                    paths[target] = paths[node] + [target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"no circle through {start} in {sorted(group)}")  # a strongly connected group has one


def test_no_import_circle_among_the_modules_imported_at_import_time() -> None:
    at_import, _ = import_graph()
    found = [" -> ".join(circle) for circle in cycles(at_import)]
    assert not found, "import circles (move the shared names to a module both can import):\n" + "\n".join(found)


def test_no_import_circle_hidden_in_a_function() -> None:
    """An import moved into a function only hides a circle: the two modules still need each other."""
    at_import, later = import_graph()
    found = [" -> ".join(circle) for circle in cycles({name: at_import[name] | later[name] for name in at_import})]
    assert not found, "import circles through deferred imports:\n" + "\n".join(found)


def test_the_circle_finder_names_the_modules_of_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e", "d"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]  # a module importing itself is not a circle of modules


def test_imports_are_sorted_into_import_time_and_deferred() -> None:
    source = ("import os\nfrom seq2seq2seq import data\nif TYPE_CHECKING:\n    import seq2seq2seq.config\n"
              "class A:\n    import seq2seq2seq.types\n"
              "def f():\n    import data_prep.corpus\nif __name__ == '__main__':\n    import seq2seq2seq.paths\n")
    modules = package_modules()
    found = {(m, deferred) for node, deferred in _imports(ast.parse(source))
             for m in imported_modules(node, "scripts.x", modules) if m not in PACKAGES}
    # the TYPE_CHECKING import never runs: no edge at all
    assert found == {("seq2seq2seq.data", False), ("seq2seq2seq.types", False),
                     ("data_prep.corpus", True), ("seq2seq2seq.paths", True)}


def test_the_package_needs_data_prep_only_to_build_a_missing_corpus() -> None:
    """data_prep builds corpora with seq2seq2seq's normaliser and readers; the other way round, only training
    reaches data_prep, inside the function that builds a missing default corpus."""
    at_import, later = import_graph()
    upward = {name: {m for m in targets if m.split(".")[0] == "data_prep"}
              for name, targets in at_import.items() if name.split(".")[0] == "seq2seq2seq"}
    assert not {name: found for name, found in upward.items() if found}
    deferred = {name for name, targets in later.items() if name.split(".")[0] == "seq2seq2seq"
                and any(m.split(".")[0] == "data_prep" for m in targets)}
    assert all(name.startswith("seq2seq2seq.train") for name in deferred), sorted(deferred)


# --------------------------------------------------------------------------------------------------------------------
# private names


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def checked_files() -> list[Path]:
    return [path for folder in CHECKED_FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))]


def _script_paths(tree: ast.AST) -> dict[str, str]:
    """Names bound to a script loaded by its path: ``spec = importlib.util.spec_from_file_location(..., ROOT /
    "scripts" / "x.py")`` then ``x = importlib.util.module_from_spec(spec)`` binds ``x`` to ``scripts.x``."""
    specs, scripts = {}, {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        called = ast.unparse(node.value.func).split(".")[-1]
        if called == "spec_from_file_location":
            files = [c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant)
                     and isinstance(c.value, str) and c.value.endswith(".py")]
            if files:
                specs[node.targets[0].id] = "scripts." + Path(files[-1]).stem
        elif called == "module_from_spec" and node.value.args and isinstance(node.value.args[0], ast.Name):
            if node.value.args[0].id in specs:
                scripts[node.targets[0].id] = specs[node.value.args[0].id]
    return scripts


def local_modules() -> dict[str, str]:
    """Scripts and test helpers by the bare name they are imported under (a script's folder, and tests/, are on
    ``sys.path`` when it runs): ``benchmark`` -> ``scripts.benchmark``, ``conftest`` -> ``tests.conftest``."""
    return {path.stem: _module_name(path) for folder in ("scripts", "scripts/research", "tests")
            for path in sorted((ROOT / folder).glob("*.py"))}


def private_uses(source: str, importer: str, modules: dict[str, Path]) -> set[str]:
    """``"module.name"`` for each private name of a project module (or script, or test helper) that the code
    ``source`` of the module ``importer`` uses."""
    tree = ast.parse(source)
    local = local_modules()
    bound = _script_paths(tree)  # local name -> module
    found = set()
    for node, _ in _imports(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES:
                    bound[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else \
                        alias.name.split(".")[0]
                elif alias.name in local:
                    bound[alias.asname or alias.name] = local[alias.name]
            continue
        base = _base(node, importer, importer in modules and modules[importer].name == "__init__.py")
        if base in local and not node.level:
            base = local[base]
        elif base.split(".")[0] not in PACKAGES:
            continue
        for alias in node.names:
            if f"{base}.{alias.name}" in modules:
                bound[alias.asname or alias.name] = f"{base}.{alias.name}"
            elif _is_private(alias.name):
                found.add(f"{base}.{alias.name}")
    for node in ast.walk(tree):  # module.name, also through packages: seq2seq2seq.data._name
        if not isinstance(node, ast.Attribute):
            continue
        chain = []
        inner: ast.AST = node
        while isinstance(inner, ast.Attribute):
            chain.insert(0, inner.attr)
            inner = inner.value
        if not isinstance(inner, ast.Name) or inner.id not in bound:
            continue
        module = bound[inner.id]
        for attr in chain:
            if f"{module}.{attr}" in modules:
                module = f"{module}.{attr}"
                continue
            if _is_private(attr):
                found.add(f"{module}.{attr}")
            break
    return found


def _own_test(path: Path, use: str) -> bool:
    """tests/test_NAME.py, or tests/test_NAME_MORE.py, using a private name of a module or package called NAME
    (tests/test_data_prep_safety.py: data_prep's modules)."""
    if path.parent.name != "tests" or not path.stem.startswith("test_"):
        return False
    words = path.stem[len("test_"):].split("_")
    names = {"_".join(words[:i]) for i in range(1, len(words) + 1)}
    return bool(names & set(use.split(".")[:-1]))


def test_no_private_name_is_used_outside_its_module() -> None:
    modules = package_modules()
    found = set()
    for path in checked_files():
        own = _module_name(path)
        uses = private_uses(path.read_text(encoding="utf-8"), own, modules)
        found |= {f"{path.relative_to(ROOT)}: {use}" for use in uses
                  if use.rsplit(".", 1)[0] != own and not _own_test(path, use)}
    assert not found - ALLOWED_FOR_NOW, ("private names used outside their module (make the name public, or move "
                                         "the code that needs it):\n" + "\n".join(sorted(found - ALLOWED_FOR_NOW)))
    assert not ALLOWED_FOR_NOW - found, f"fixed, remove from ALLOWED_FOR_NOW: {sorted(ALLOWED_FOR_NOW - found)}"


def test_the_private_name_finder_sees_both_ways_of_reaching_one() -> None:
    source = ("from seq2seq2seq.eval.rouge import _limit, format_table\nfrom seq2seq2seq import checkpoint as ckpt\n"
              "import seq2seq2seq.data\nimport importlib.util\n"
              "spec = importlib.util.spec_from_file_location('b', ROOT / 'scripts' / 'benchmark.py')\n"
              "benchmark = importlib.util.module_from_spec(spec)\n"
              "ckpt._load(); seq2seq2seq.data._words(); benchmark._flat({}); ckpt.save(); format_table._cache\n")
    found = private_uses(source, "tests.test_example", package_modules())
    assert found == {"seq2seq2seq.eval.rouge._limit", "seq2seq2seq.checkpoint._load", "seq2seq2seq.data._words",
                     "scripts.benchmark._flat"}
    assert _own_test(ROOT / "tests" / "test_benchmark.py", "scripts.benchmark._flat")
    assert not _own_test(ROOT / "tests" / "test_layout.py", "scripts.benchmark._flat")


def test_scripts_do_not_edit_sys_path() -> None:
    """The package is installed (editable, by scripts/setup.sh): scripts import it like any other user would."""
    edits = []
    for path in sorted(p for p in (ROOT / "scripts").rglob("*.py") if p.name not in SYS_PATH_FOR_NOW):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        edits += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and ast.unparse(node) == "sys.path"]
    assert not edits, edits


def test_every_console_script_names_a_main_that_exists() -> None:
    """pyproject.toml's [project.scripts] point at functions that moved in the redesign; each must import."""
    import importlib

    import tomllib

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    for name, target in scripts.items():
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function, None)), f"{name} = {target}"
