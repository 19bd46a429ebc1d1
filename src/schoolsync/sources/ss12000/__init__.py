"""The SS 12000:2020 bundle source (one JSON file per endpoint)."""

from schoolsync.sources.ss12000.reader import read_bundle

__all__ = ["read_bundle"]
