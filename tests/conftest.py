import os
import sys

# Tests import helpers from this folder (notebooks.py) and never touch the user's data cache.
sys.path.insert(0, os.path.dirname(__file__))


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def one_thread():
    """Tiny tensors gain nothing from intra-op threads; on a busy machine each op then pays a thread
    hand-off of milliseconds. Tests of small float64 checks use one thread (restored afterwards)."""
    from nlpbook.timing import cpu_threads

    with cpu_threads(1):
        yield


@pytest.fixture
def dev():
    """Run the test under the device audit; yields the simulated run.device (``cpu:0``)."""
    from nlpbook import device_audit

    assert not device_audit.is_enabled(), "a previous test left the audit on"
    with device_audit.device_audit() as device:
        yield device
    assert not device_audit.is_enabled()
