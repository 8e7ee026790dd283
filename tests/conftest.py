import os
import sys

# Tests import helpers from this folder (notebooks.py) and never touch the user's data cache.
sys.path.insert(0, os.path.dirname(__file__))
