"""Synthetic tasks shared by chapters (e.g. the adding problem)."""
