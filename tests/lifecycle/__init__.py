"""Lifecycle guarantees, proven on real ``python -m jobframe`` processes."""
