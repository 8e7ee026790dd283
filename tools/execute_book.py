"""`make book`: execute the book's notebooks where something they depend on changed, then render.

A notebook's executed copy is reused only when its **build key** is unchanged. The key is a
sha256 over everything that can change what the notebook prints:

* the notebook itself (its bytes);
* every file of the ``nlpbook`` package and ``pyproject.toml`` (any change to the package
  re-executes every chapter: coarse, but never stale);
* the profile and the other ``NLPBOOK_*`` settings (threads, device; not the cache folder);
* the versions of python, torch and the data packages the Makefile installs (pip and apt).

Executed copies live in ``_build/book-notebooks/<page>.ipynb`` with the key in their metadata
(``metadata.nlpbook.build_key``), each written atomically after a successful run. A notebook
that fails leaves no copy (a stale one is removed), the others still run, and the command exits
1 naming it. Each notebook runs alone in an empty directory, as a reader runs it.

The HTML (``tools/build_book.py`` on the executed copies) is rebuilt only when a page or the
book's configuration changed: ``_build/html/.nlpbook-build`` holds the key of the last build.

    python tools/execute_book.py [--profile book] [--out _build/html] [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_book  # noqa: E402  (tools/build_book.py)
import colab  # noqa: E402  (tools/colab.py: the Makefile's data package lists)
from nlpbook.book_map import toc_pages  # noqa: E402

ROOT = build_book.ROOT
NOTEBOOKS = os.path.join(ROOT, "_build", "book-notebooks")
HTML = os.path.join(ROOT, "_build", "html")
SRC = os.path.join(ROOT, "_build", "book-src")
HTML_STAMP = ".nlpbook-build"
# Settings that do not change what a notebook computes.
IGNORED_ENV = {"NLPBOOK_DATA", "NLPBOOK_PROGRESS"}
KERNEL_ENV = {"NLPBOOK_PROGRESS": "0"}   # no progress bars in the rendered page
TIMEOUT_S = 1800


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def package_files(root: str = ROOT) -> list[str]:
    """The files whose change re-executes every notebook: the nlpbook package and pyproject.toml."""
    files = [os.path.join(root, "pyproject.toml")]
    for folder, dirs, names in os.walk(os.path.join(root, "nlpbook")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files += [os.path.join(folder, n) for n in sorted(names) if not n.endswith((".pyc", ".pyo"))]
    return [f for f in files if os.path.isfile(f)]


def _apt_version(package: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else "missing"
    except OSError:
        return "no dpkg"


def _pip_version(spec: str) -> str:
    name = spec.split("==")[0]
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def environment_key(profile: str, root: str = ROOT, env: dict | None = None) -> str:
    """What every notebook shares: the package's files, the settings, the versions."""
    env = os.environ if env is None else env
    parts = [f"profile={profile}".encode()]
    for path in package_files(root):
        with open(path, "rb") as handle:
            parts += [os.path.relpath(path, root).encode(), handle.read()]
    settings = sorted((k, v) for k, v in env.items()
                      if k.startswith("NLPBOOK_") and k not in IGNORED_ENV and k != "NLPBOOK_PROFILE")
    parts.append(json.dumps(settings).encode())
    versions = {"python": platform.python_version()}
    for name in ("torch", "numpy", "transformers", "tokenizers", "sacrebleu"):
        versions[name] = _pip_version(name)
    try:
        versions.update({spec: _pip_version(spec) for spec in colab.makefile_list("DATA_PIP", root)})
        versions.update({pkg: _apt_version(pkg) for pkg in colab.makefile_list("DATA_APT", root)})
    except (OSError, ValueError):
        versions["data"] = "no Makefile lists"
    parts.append(json.dumps(versions, sort_keys=True).encode())
    return _sha256(*parts)


def build_key(notebook: str, shared: str) -> str:
    """The key of one notebook: its bytes and the shared :func:`environment_key`."""
    with open(notebook, "rb") as handle:
        return _sha256(handle.read(), shared.encode())


def recorded_key(executed: str) -> str | None:
    """The build key stored in an executed copy, or None (missing, unreadable or failed)."""
    try:
        with open(executed, encoding="utf-8") as handle:
            nb = json.load(handle)
    except (OSError, ValueError):
        return None
    if nb.get("metadata", {}).get("papermill", {}).get("exception"):
        return None
    return nb.get("metadata", {}).get("nlpbook", {}).get("build_key")


def notebook_pages(root: str = ROOT) -> list[str]:
    """The toc pages that are notebooks, as repository-relative ``.ipynb`` paths, in book order."""
    return [page + ".ipynb" for page in toc_pages(os.path.join(root, "_toc.yml"))
            if os.path.exists(os.path.join(root, page + ".ipynb"))]


def execute(notebook: str, dest: str, key: str, profile: str) -> float:
    """Run ``notebook`` alone in an empty directory; write it to ``dest`` atomically with ``key``."""
    import papermill

    saved = {k: os.environ.get(k) for k in (*KERNEL_ENV, "NLPBOOK_PROFILE")}
    os.environ.update({**KERNEL_ENV, "NLPBOOK_PROFILE": profile})
    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="nlpbook-book-") as alone:
            copy = os.path.join(alone, os.path.basename(notebook))
            shutil.copyfile(notebook, copy)
            out = os.path.join(alone, "executed.ipynb")
            try:
                papermill.execute_notebook(copy, out, kernel_name="python3", cwd=alone, progress_bar=False,
                                           execution_timeout=TIMEOUT_S)
            finally:
                failed_copy = dest[:-len(".ipynb")] + ".failed.ipynb"
                if os.path.exists(out) and build_book.failed(out):
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    shutil.copyfile(out, failed_copy)
            with open(out, encoding="utf-8") as handle:
                nb = json.load(handle)
            seconds = time.perf_counter() - start
            nb["metadata"]["nlpbook"] = {"build_key": key, "profile": profile, "seconds": round(seconds, 1)}
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = dest + ".tmp"
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(nb, handle, ensure_ascii=False, indent=1)
            os.replace(tmp, dest)
            if os.path.exists(failed_copy):
                os.remove(failed_copy)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return seconds


def execute_stale(profile: str, root: str = ROOT, notebooks: str = NOTEBOOKS, force: bool = False,
                  log=print) -> tuple[list[str], list[str]]:
    """Execute every toc notebook whose build key changed; return (executed pages, failed pages)."""
    shared = environment_key(profile, root)
    executed, failed = [], []
    for page in notebook_pages(root):
        source, dest = os.path.join(root, page), os.path.join(notebooks, page)
        key = build_key(source, shared)
        if not force and recorded_key(dest) == key:
            log(f"execute_book: {page}: up to date")
            continue
        if os.path.exists(dest):
            os.remove(dest)             # never leave an older page that could be mistaken for this one
        try:
            seconds = execute(source, dest, key, profile)
        except Exception as error:  # noqa: BLE001 - report every failing notebook, keep going
            failed.append(page)
            log(f"execute_book: {page}: FAILED ({type(error).__name__}: {str(error).strip().splitlines()[-1:]}); "
                f"the executed copy is {os.path.relpath(dest[:-6] + '.failed.ipynb', root)}")
            continue
        executed.append(page)
        log(f"execute_book: {page}: executed in {seconds:.0f} s")
    return executed, failed


def html_key(root: str = ROOT, notebooks: str = NOTEBOOKS) -> str:
    """What the HTML depends on: every page as rendered, the toc, the config and the build script."""
    parts = []
    for page in toc_pages(os.path.join(root, "_toc.yml")):
        for path in (os.path.join(notebooks, page + ".ipynb"), os.path.join(root, page + ".md")):
            if os.path.exists(path):
                with open(path, "rb") as handle:
                    parts += [page.encode(), handle.read()]
    for folder, dirs, names in os.walk(os.path.join(root, "book")):   # figures and other files pages include
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".ipynb_checkpoints"))
        for name in sorted(names):
            if not name.endswith((".py", ".ipynb", ".md")):
                with open(os.path.join(folder, name), "rb") as handle:
                    parts += [name.encode(), handle.read()]
    for path in ("_toc.yml", "_config.yml", "tools/build_book.py"):
        if os.path.exists(os.path.join(root, path)):
            with open(os.path.join(root, path), "rb") as handle:
                parts += [path.encode(), handle.read()]
    return _sha256(*parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default=os.environ.get("NLPBOOK_PROFILE") or "book")
    parser.add_argument("--out", default=HTML)
    parser.add_argument("--force", action="store_true", help="execute every notebook again")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    executed, failed = execute_stale(args.profile, force=args.force)
    if failed:
        print(f"execute_book: {len(failed)} notebook(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    key = html_key()
    stamp = os.path.join(args.out, HTML_STAMP)
    if not args.force and os.path.exists(stamp) and open(stamp, encoding="utf-8").read().strip() == key:
        print(f"execute_book: nothing changed; {os.path.relpath(args.out)}/index.html is up to date "
              f"({time.perf_counter() - start:.0f} s)")
        return 0
    status = build_book.main(["--src-notebooks", NOTEBOOKS, "--out", args.out, "--src", SRC])
    if status == 0:
        with open(stamp, "w", encoding="utf-8") as handle:
            handle.write(key + "\n")
        print(f"execute_book: {len(executed)} notebook(s) executed, HTML rendered, "
              f"{time.perf_counter() - start:.0f} s in all")
    return status


if __name__ == "__main__":
    sys.exit(main())
