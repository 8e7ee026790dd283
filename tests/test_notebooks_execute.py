"""Execute every notebook of the book in the smoke profile: the notebooks are the test suite.

On a machine with CUDA the notebooks run on the GPU; elsewhere under the device audit.
Each notebook is copied ALONE into an empty temporary directory and executed there, as a reader
runs it on Colab or from a download: nothing of the repository is next to it, only the installed
nlpbook and its data packages. A notebook that reads a repository file (``../_toc.yml``) fails.

papermill injects PROFILE="smoke"; any exception in any cell (a failed verification assert
included) fails the test. The executed copies land in _build/smoke-notebooks/ (same paths as in
the repository), where the rendered-book test picks them up: each notebook runs once per suite.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time

import papermill
import pytest

from notebooks import ROOT, toc_notebooks

NOTEBOOK_TIMEOUT_S = int(os.environ.get("NLPBOOK_NOTEBOOK_TIMEOUT", "240"))
OUT_DIR = os.path.join(ROOT, "_build", "smoke-notebooks")
# What the kernel sees: no progress bars (they would land in the rendered page), and the device
# audit: on a CPU-only machine run.device is a simulated second device (nlpbook.device_audit), so a
# model or batch left off run.device fails as it would on a GPU; on a GPU machine it is ignored and
# the notebooks run on CUDA.
KERNEL_ENV = {"NLPBOOK_PROGRESS": "0", "NLPBOOK_DEVICE_AUDIT": "1"}


def execute_alone(nb_path: str, out: str) -> float:
    """Run ``nb_path`` (repository-relative) in the smoke profile from an empty directory; seconds taken."""
    saved = {key: os.environ.get(key) for key in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nlpbook-alone-") as alone:
        copy = os.path.join(alone, os.path.basename(nb_path))
        shutil.copyfile(os.path.join(ROOT, nb_path), copy)
        try:
            papermill.execute_notebook(
                copy, out, parameters={"PROFILE": "smoke"}, kernel_name="python3",
                cwd=alone, progress_bar=False, execution_timeout=NOTEBOOK_TIMEOUT_S,
            )
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        left = sorted(set(os.listdir(alone)) - {os.path.basename(nb_path)})
    print(f"{nb_path}: {time.perf_counter() - start:.1f} s in the smoke profile, alone in an empty directory"
          + (f" (it wrote {left[:5]} there)" if left else ""))
    return time.perf_counter() - start


@pytest.mark.notebook
@pytest.mark.timeout(NOTEBOOK_TIMEOUT_S)
@pytest.mark.parametrize("nb_path", toc_notebooks())
def test_notebook_runs_alone_in_smoke_profile(nb_path):
    out = os.path.join(OUT_DIR, nb_path)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    execute_alone(nb_path, out)
