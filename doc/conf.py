"""Sphinx configuration of the destructors documentation."""

import os
import sys
from pathlib import Path

import destructors

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

project = "destructors"
author = "the destructors developers"
copyright = "2026, the destructors developers"
release = destructors.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

autosummary_generate = True
# Document what the library defines or overrides; members inherited from
# scikit-learn (get_params, metadata routing, ...) are documented there.
_SKLEARN_BASES = "BaseEstimator, TransformerMixin, DensityMixin, OneToOneFeatureMixin, _SetOutputMixin, " \
    "_MetadataRequester, GaussianMixture, BaseMixture, _BaseComposition"
autodoc_default_options = {"members": True, "inherited-members": _SKLEARN_BASES}
templates_path = ["_templates"]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "scipy": ("https://docs.scipy.org/doc/scipy", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
# The documentation must build without network access.
intersphinx_disabled_reftypes = ["*"]
if os.environ.get("DESTRUCTORS_DOCS_OFFLINE", "1") == "1":
    intersphinx_mapping = {}

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
}

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_templates", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.md5", "**/*.codeobj.json"]
html_theme = "pydata_sphinx_theme"
html_title = "destructors"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
suppress_warnings = ["config.cache", "myst.header"]


def _skip_metadata_requests(app, what, name, obj, skip, options):
    # scikit-learn attaches set_<method>_request to every estimator whose
    # methods take extra arguments; they belong to its metadata routing.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
