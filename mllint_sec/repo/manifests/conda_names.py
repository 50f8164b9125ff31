"""Conda package names that differ from the PyPI name of the same software (canonical forms).

Data, not logic: conda-forge and the defaults channel publish some Python packages under
other names. A name missing here is taken to be the PyPI name, which holds for most of the
ML stack (`numpy`, `transformers`, `scikit-learn`, `tensorflow-gpu`, ...).
"""

from __future__ import annotations

CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "tensorflow-base": "tensorflow",
    "ray-core": "ray",
    "ray-default": "ray",
}
