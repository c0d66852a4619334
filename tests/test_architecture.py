"""The layering the project promises: gaia_core does the math and never touches streamlit or a
hard-coded CUDA device; the app's pages hold no model code of their own."""

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
