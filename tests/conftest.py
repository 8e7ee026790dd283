import os
import sys

# Tests import helpers from this folder (notebooks.py) and never touch the user's data cache.
sys.path.insert(0, os.path.dirname(__file__))

import pytest
import torch


@pytest.fixture
def one_thread():
    """Small ops run far faster on one thread on a shared 2-core machine (as the chapters do)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
