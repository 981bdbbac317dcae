"""The package version (a leaf: imports nothing), recorded in provenance and in task cache keys."""
__version__ = "0.1.0"
