"""The recsys hypothesis harness: state a hypothesis, run every arm over seeds and segments,
get a verdict backed by paired per-user statistics."""
__version__ = "0.1.0"
