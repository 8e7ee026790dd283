"""Optimisation helpers: gradient clipping (by global norm, by value). Import the modules directly."""
