"""Which files the package carries; the rest of its metadata is in pyproject.toml.

The top-level templates/ and static/ folders ship inside the package as
activtrak_scim/templates and activtrak_scim/static, and the customer setup guides of docs/ as
activtrak_scim/docs, so an installed copy serves its pages from any directory. pyproject.toml alone cannot list these mapped folders next to discovered packages.
"""

from __future__ import annotations

from setuptools import find_packages, setup

DATA_PACKAGES = {
    "activtrak_scim.templates": "templates",
    "activtrak_scim.static": "static",
    "activtrak_scim.docs": "docs",
}
DATA_FILES = {
    "activtrak_scim.templates": ["**/*"],
    "activtrak_scim.static": ["**/*"],
    "activtrak_scim.docs": ["okta-setup.md", "entra-setup.md"],
}

setup(
    packages=find_packages(include=["activtrak_scim*", "integrations*", "directory*"])
    + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
    package_data=DATA_FILES,
)
