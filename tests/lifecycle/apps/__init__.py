"""Apps the lifecycle tests run as real ``python -m jobframe`` processes (cwd = this directory)."""
