"""The process around a run (the CLI's, never a test's): the earliest signal handlers, and the end.

Kept free of heavy imports: ``startup`` runs before anything else is loaded.
"""
