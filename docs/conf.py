"""Sphinx configuration of boltz's documentation.

Build it with ``python -m sphinx -W -b html docs docs/_build/html`` after
``pip install -e ".[docs]"`` (``docs/README.md``).  The gallery runs the
examples in quick mode (``--quick`` in their ``sys.argv``); set
``BOLTZ_GALLERY=off`` to lay out the gallery pages without running them.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "sphinxext"))

from boltz_api import write_api_page
from boltz_gallery import QuickArgv

import boltz

project = "boltz"
author = "the boltz developers"
copyright = "2026, the boltz developers"
release = boltz.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "sg_execution_times.rst"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# API pages: written from the __all__ lists (sphinxext/boltz_api.py).
write_api_page(docs_dir=HERE)
autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}  # offline builds: no inventories are fetched

# The gallery: every example is run in quick mode (the reset_argv hook gives
# each script ``sys.argv[1:] == ["--quick"]``), except the Dask example,
# which starts a cluster of processes and is shown without its output.
# BOLTZ_GALLERY=off shows every example unexecuted.
RUN_GALLERY = os.environ.get("BOLTZ_GALLERY", "on").lower() not in ("off", "0", "no")


sphinx_gallery_conf = {
    "examples_dirs": os.path.join(HERE, "..", "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/(?!dask_)[^/]+\.py$" if RUN_GALLERY else r"^$",
    "plot_gallery": "True" if RUN_GALLERY else "False",
    "reset_argv": QuickArgv(),
    "doc_module": ("boltz",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"boltz": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"boltz {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []
html_show_sourcelink = False


def setup(app):
    from boltz_api import escape_trailing_underscores, skip_inherited_from_sklearn

    app.connect("autodoc-skip-member", skip_inherited_from_sklearn)
    # before numpydoc (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", escape_trailing_underscores, priority=400)
