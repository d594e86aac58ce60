"""Packaging that pyproject.toml cannot say: the experiment specs are edited in the top-level tasks/ and ship
inside the package as cerepro/specs (read by cerepro.catalog), so there is no second copy to keep in sync."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["cerepro", "cerepro.*"]), "cerepro.specs"],
    package_dir={"cerepro.specs": "tasks"},
    package_data={"cerepro": ["paper/*.yaml"], "cerepro.specs": ["*.yaml"]},
)
