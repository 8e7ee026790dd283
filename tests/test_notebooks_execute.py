"""Execute every notebook of the book in the smoke profile: the notebooks are the test suite.

papermill injects PROFILE="smoke"; any exception in any cell (a failed verification assert
included) fails the test. Executed copies land in _build/smoke-notebooks/ for inspection.
"""
from __future__ import annotations

import os
import time

import papermill
import pytest

from notebooks import ROOT, toc_notebooks

NOTEBOOK_TIMEOUT_S = int(os.environ.get("NLPBOOK_NOTEBOOK_TIMEOUT", "240"))
OUT_DIR = os.path.join(ROOT, "_build", "smoke-notebooks")


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S)
@pytest.mark.parametrize("nb_path", toc_notebooks())
def test_notebook_runs_in_smoke_profile(nb_path):
    src = os.path.join(ROOT, nb_path)
    out = os.path.join(OUT_DIR, nb_path)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    env_before = os.environ.get("NLPBOOK_PROGRESS")
    os.environ["NLPBOOK_PROGRESS"] = "0"
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            src, out, parameters={"PROFILE": "smoke"}, kernel_name="python3",
            cwd=os.path.dirname(src), progress_bar=False, execution_timeout=NOTEBOOK_TIMEOUT_S,
        )
    finally:
        if env_before is None:
            os.environ.pop("NLPBOOK_PROGRESS", None)
        else:
            os.environ["NLPBOOK_PROGRESS"] = env_before
    print(f"{nb_path}: {time.perf_counter() - start:.1f} s in the smoke profile")
