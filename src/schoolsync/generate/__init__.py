"""Deterministic generator of a synthetic Swedish municipality as an SS 12000 bundle.

Example:
    >>> from pathlib import Path
    >>> from schoolsync.generate import generate_bundle
    >>> summary = generate_bundle(Path("bundle"), "small", seed=1)  # doctest: +SKIP
"""

from .bundle import GenerationSummary, generate_bundle
from .schools import SIZES, SizeSpec
from .students import CLASS_NAME

__all__ = ["CLASS_NAME", "SIZES", "GenerationSummary", "SizeSpec", "generate_bundle"]
