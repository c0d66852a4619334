"""The layering the project promises: gaia_core does the math and never touches streamlit or a
hard-coded CUDA device; the app's pages hold no model code of their own."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "gaia_core").rglob("*.py"))


def test_importing_every_gaia_core_module_never_loads_streamlit():
    code = (
        "import importlib, pkgutil, sys, gaia_core\n"
        "for m in pkgutil.walk_packages(gaia_core.__path__, 'gaia_core.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "assert 'streamlit' not in sys.modules, 'streamlit was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)


def test_no_library_file_imports_streamlit_or_hard_codes_cuda():
    assert len(LIBRARY) > 30
    for source in LIBRARY:
        text = source.read_text()
        assert not re.search(r"^\s*(import|from)\s+streamlit", text, re.MULTILINE), source.name
        assert ".cuda()" not in text, source.name


def test_pages_do_not_build_models_or_compute_scores_themselves():
    for page in [*sorted((ROOT / "app_pages").glob("*.py")), ROOT / "app.py"]:
        text = page.read_text()
        assert not re.search(r"\bnn\.(Conv2d|Linear|BatchNorm2d)\(|torch\.autograd\.grad\(|\.backward\(", text), (
            page.name
        )


def test_no_test_module_imports_another_test_module():
    """Shared fixtures live in tests/conftest.py and shared helpers in tests/helpers/: a test module
    imported by another hides where its names come from and couples the two modules' fixtures."""
    from_import = re.compile(r"^\s*from\s+([\w.]+)\s+import\b", re.MULTILINE)
    plain_import = re.compile(r"^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)", re.MULTILINE)
    sources = sorted((ROOT / "tests").rglob("*.py"))
    assert len(sources) > 30
    for source in sources:
        text = source.read_text()
        modules = from_import.findall(text)
        modules += [name.strip() for names in plain_import.findall(text) for name in names.split(",")]
        imported_tests = [m for m in modules if m.split(".")[0].startswith("test_")]
        assert not imported_tests, (source.relative_to(ROOT), imported_tests)


# --- The floors of gaia_core (issue 19) ------------------------------------------------------
#
# A unit is a subpackage or a top-level module of gaia_core. Each floor may import from its own
# unit and from every floor below it; units on one floor never import each other. The package's
# own __init__ (lazy re-exports of the public API) sits on top; importing it for __version__ is
# allowed everywhere, since every submodule import loads it anyway.
FLOORS = (
    ("errors", "assets"),
    ("device", "progress"),
    ("safety",),
    ("demo",),
    ("models",),
    ("data",),
    ("scores",),
    ("attribution",),
    ("evaluation",),
    ("charts", "teaching"),
    ("report", "app_support"),
    ("cli", "bench", "loadtest"),
    ("__main__",),
    ("gaia_core",),
)
FLOOR_OF = {unit: level for level, units in enumerate(FLOORS) for unit in units}
ALLOWED = {unit: {unit} | {lower for lower, level in FLOOR_OF.items() if level < FLOOR_OF[unit]} for unit in FLOOR_OF}
PACKAGE = ROOT / "gaia_core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _imported_modules(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, str]]:
    """(module imported, name) of one import statement: ``from a import b`` is a.b when b is a module."""
    if isinstance(node, ast.Import):
        return [(alias.name, "") for alias in node.names]
    package = module if is_package else module.rpartition(".")[0]
    if node.level:
        package = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module
    return [(f"{base}.{a.name}" if _is_module(f"{base}.{a.name}") else base, a.name) for a in node.names]


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _module_level(body: list[ast.stmt]):
    """The import statements run when a module is imported (not those in functions or TYPE_CHECKING)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif _is_type_checking(node) or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.ClassDef):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    yield from _module_level([child] if isinstance(child, ast.stmt) else child.body)


def _library():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, _module_name(path), path.name == "__init__.py", ast.parse(path.read_text())


def test_every_gaia_core_unit_has_a_floor():
    units = {_unit(module) for _, module, _, _ in _library()}
    assert units <= set(FLOOR_OF), f"give these a floor in FLOORS: {sorted(units - set(FLOOR_OF))}"


def test_no_gaia_core_module_imports_a_higher_or_sibling_floor_even_inside_a_function():
    wrong = []
    for _, module, is_package, tree in _library():
        unit = _unit(module)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for target, name in _imported_modules(node, module, is_package):
                if target.split(".")[0] in ("app", "app_pages", "streamlit"):
                    wrong.append(f"{module}:{node.lineno} imports {target}")
                if target.split(".")[0] != "gaia_core":
                    continue
                if target == "gaia_core" and (name in ("", "__version__") or unit == "gaia_core"):
                    continue
                if _unit(target) not in ALLOWED[unit]:
                    wrong.append(f"{module}:{node.lineno} ({unit}) imports {target} ({_unit(target)})")
    assert not wrong, "imports against the floors:\n" + "\n".join(wrong)


def test_no_import_cycle_between_gaia_core_modules():
    graph = {}
    for _, module, is_package, tree in _library():
        graph[module] = {
            target
            for node in _module_level(tree.body)
            for target, _ in _imported_modules(node, module, is_package)
            if target.startswith("gaia_core") and target != module
        }
    # Tarjan's strongly connected components: a component of two or more modules is a cycle.
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not cycles, f"module-level import cycles: {cycles}"


# --- The README's code map (issue 19) --------------------------------------------------------


def _code_map() -> dict[str, str]:
    """Entry path -> its description, from the indented block under "## Code map"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Code map\n", 1)[1].split("\n## ", 1)[0]
    entries: dict[str, str] = {}
    last = None
    for line in section.splitlines():
        if not line.startswith("    "):
            if entries and line.strip():
                break  # the prose after the block
            continue
        if line[4] != " ":
            last, _, description = line.strip().partition(" ")
            entries[last] = description
        elif last is not None:
            entries[last] += " " + line.strip()
    return entries


def test_the_code_map_lists_every_gaia_core_subpackage_and_top_level_module():
    listed = set(_code_map())
    expected = {
        f"gaia_core/{p.name}/" if p.is_dir() else f"gaia_core/{p.name}"
        for p in PACKAGE.iterdir()
        if (p.is_dir() and (p / "__init__.py").is_file() and p.name != "assets")  # assets/ is listed itself
        or (p.suffix == ".py" and p.name not in ("__init__.py", "__main__.py"))
    }
    assert expected <= listed, f"missing from the README's code map: {sorted(expected - listed)}"


def test_every_path_the_code_map_names_exists():
    missing = []
    for path, description in _code_map().items():
        if not (ROOT / path).exists():
            missing.append(path)
        folder = ROOT / path if path.endswith("/") else (ROOT / path).parent
        for name in re.findall(r"[\w/]+\.py\b", description):
            if not ((folder / name).exists() or (ROOT / name).exists() or (folder.parent / name).exists()):
                missing.append(f"{name} (in the line of {path})")
    assert not missing, f"the code map names what does not exist: {missing}"


def test_no_app_shell_or_widget_module_shares_a_name_with_a_gaia_core_module():
    """`app_pages/shell/runs.py` beside `gaia_core/evaluation/runs.py` reads as one thing: the app's
    own modules are named for what they do in the app."""
    library = {p.stem for p in PACKAGE.rglob("*.py")} - {"__init__", "__main__"}
    app = {p.stem: p for folder in ("shell", "widgets") for p in (ROOT / "app_pages" / folder).glob("*.py")}
    shared = sorted(name for name in app if name in library)
    assert not shared, f"app modules named like a gaia_core module: {shared}"
