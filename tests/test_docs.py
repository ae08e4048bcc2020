"""The documentation covers every public name, and the gallery can run.

The API reference is generated from the ``__all__`` lists
(``docs/sphinxext/boltz_api.py``); these tests fail when a public name would
have no page, or no Examples section for its page to show.  The docstring
examples themselves run in the suite through ``--doctest-modules``
(``pyproject.toml``).
"""

import ast
import importlib
import inspect
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPHINXEXT = os.path.join(ROOT, "docs", "sphinxext")
EXAMPLES = os.path.join(ROOT, "examples")

if not os.path.isdir(SPHINXEXT):  # an installed boltz tested outside a checkout
    pytest.skip("docs/ is not beside the tests", allow_module_level=True)
sys.path.insert(0, SPHINXEXT)
boltz_api = importlib.import_module("boltz_api")

import boltz


def _section(text, module):
    """The part of api.rst that documents ``module``."""
    title = f":mod:`{module}`"
    start = text.index(title + "\n")
    nxt = re.search(r"^:mod:`", text[start + len(title):], flags=re.MULTILINE)
    return text[start:] if nxt is None else text[start:start + len(title) + nxt.start()]


def test_every_top_level_name_has_an_api_page():
    text = boltz_api.render_api_page()
    boltz_part = _section(text, "boltz")
    pages = boltz_api.documented_names()
    for name in boltz.__all__:
        if name in boltz_api.SKIPPED:
            continue
        assert f"boltz.{name}" in pages, f"boltz.{name} has no API page"
        assert re.search(rf"^   {re.escape(name)}$", boltz_part, flags=re.MULTILINE), (
            f"boltz.{name} is not listed in the boltz section of api.rst")


@pytest.mark.parametrize("module_name", boltz_api.PUBLIC_MODULES)
def test_every_module_name_is_documented_or_linked(module_name):
    module = importlib.import_module(module_name)
    part = _section(boltz_api.render_api_page(), module_name)
    assert f".. automodule:: {module_name}" in part
    for name in module.__all__:
        if name in boltz_api.SKIPPED:
            continue
        listed = re.search(rf"^   {re.escape(name)}$", part, flags=re.MULTILINE)
        linked = f"`{name} <" in part
        assert listed or linked, f"{module_name}.{name} has no API entry"


def test_a_new_public_name_gets_a_page(monkeypatch):
    def new_function():
        """A new public function."""

    monkeypatch.setattr(boltz, "new_function", new_function, raising=False)
    monkeypatch.setattr(boltz, "__all__", [*boltz.__all__, "new_function"])
    assert "boltz.new_function" in boltz_api.documented_names()
    assert re.search(r"^   new_function$", _section(boltz_api.render_api_page(), "boltz"),
                     flags=re.MULTILINE)


def test_an_object_exported_twice_gets_one_page():
    pages = boltz_api.documented_names()
    assert "boltz.HopfieldNetwork" in pages
    assert "boltz.hopfield.HopfieldNetwork" not in pages
    assert "boltz.evaluation.ais" in pages
    assert "boltz.likelihood.ais" not in pages


def _public_callables():
    for module_name, entries in boltz_api.api_sections():
        module = importlib.import_module(module_name)
        for name, kind, alias in entries:
            if alias is None and kind != "data":
                yield f"{module_name}.{name}", getattr(module, name)


@pytest.mark.parametrize("name, obj", list(_public_callables()),
                         ids=[n for n, _ in _public_callables()])
def test_every_public_class_and_function_has_examples(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert re.search(r"^Examples\n-{8}\n", doc, flags=re.MULTILINE), (
        f"{name} has no Examples section")
    assert ">>> " in doc.split("Examples\n--------\n", 1)[1], (
        f"the Examples section of {name} has no doctest")


EXAMPLE_FILES = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))


@pytest.mark.parametrize("filename", EXAMPLE_FILES)
def test_examples_are_gallery_pages_with_a_quick_mode(filename):
    with open(os.path.join(EXAMPLES, filename), encoding="utf-8") as f:
        source = f.read()
    doc = ast.get_docstring(ast.parse(source), clean=False)
    lines = doc.splitlines()
    # sphinx-gallery needs a reST title: the first line, underlined
    assert lines[1] == "=" * len(lines[0]), f"{filename}: no underlined title"
    assert "--quick" in source, f"{filename}: no --quick mode for the gallery"
    assert "plt.close" not in source, (
        f"{filename}: closed figures do not reach the gallery")
    # the gallery runs the script without its docstring: __doc__ is None there
    assert "__doc__" not in source, f"{filename}: reads __doc__, None in the gallery"


def test_the_changelog_starts_with_this_version():
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as f:
        headings = re.findall(r"^## (\S+)(.*)$", f.read(), flags=re.MULTILINE)
    release = re.match(r"\d+\.\d+\.\d+", boltz.__version__).group()
    newest, note = headings[0]
    assert newest == release, f"CHANGELOG.md starts with {newest}, boltz is {release}"
    # a development version's entry says it is unreleased
    assert ("dev" in boltz.__version__) == ("unreleased" in note)
    assert "0.1.0" in [h for h, _ in headings]
