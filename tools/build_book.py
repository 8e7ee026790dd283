"""Render the book to HTML from notebooks that were already executed, without running them again.

The tests execute every notebook in the smoke profile into _build/smoke-notebooks/ (same paths
as in the repository). This script assembles a source tree from those copies:

    _build/smoke-src/
        _config.yml      the repository's, with execute_notebooks: "off"
        _toc.yml         the repository's, unchanged
        _static/ ...     links to the repository's static folders (html_static_path)
        book/...         every page _toc.yml lists: .md from the repository, .ipynb executed
                         (papermill's injected-parameters cell hidden), plus the other files
                         under book/ (figures) that pages may refer to

and runs `jupyter-book build -W -n --keep-going --builder html` on it. Pages keep their
repository paths (book/<part>/<name>.ipynb), so the repository and Colab buttons point at the
real notebooks on GitHub. Exit status 0 only when Sphinx built without a single warning.

    python tools/build_book.py [--src-notebooks DIR] [--out DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import yaml

from nlpbook.book_map import toc_pages

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOKE_NOTEBOOKS = os.path.join(ROOT, "_build", "smoke-notebooks")
SRC = os.path.join(ROOT, "_build", "smoke-src")
OUT = os.path.join(ROOT, "_build", "smoke-html")
# Files under book/ never copied: the reviewed .py twins, unexecuted notebooks, caches.
SKIP = shutil.ignore_patterns("*.py", "*.ipynb", "__pycache__", ".ipynb_checkpoints")


class BuildError(RuntimeError):
    pass


def shown(path: str, root: str) -> str:
    """A path as a reader wants it: relative to the repository when inside it."""
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel


def page_sources(src_notebooks: str, root: str = ROOT) -> dict[str, str]:
    """Map each toc page (e.g. book/intro.ipynb) to the file to render; raise if one is missing."""
    found, missing = {}, []
    for page in toc_pages(os.path.join(root, "_toc.yml")):
        if os.path.exists(os.path.join(root, page + ".ipynb")):
            executed = os.path.join(src_notebooks, page + ".ipynb")
            if not os.path.exists(executed):
                missing.append(f"{page}.ipynb: no executed copy at {shown(executed, root)}")
            elif failed(executed):
                missing.append(f"{page}.ipynb: its executed copy {shown(executed, root)} "
                               "stopped on an exception; fix the notebook and execute it again")
            else:
                found[page + ".ipynb"] = executed
        elif os.path.exists(os.path.join(root, page + ".md")):
            found[page + ".md"] = os.path.join(root, page + ".md")
        else:
            missing.append(f"{page}: _toc.yml lists it but neither {page}.ipynb nor {page}.md exists")
    if missing:
        hint = ("\nexecute the notebooks first: python -m pytest tests/test_notebooks_execute.py"
                if any("executed copy" in m for m in missing) else "")
        raise BuildError("cannot assemble the book:\n  " + "\n  ".join(missing) + hint)
    return found


def failed(executed: str) -> bool:
    """Whether papermill recorded an exception when it executed this notebook."""
    with open(executed, encoding="utf-8") as handle:
        return bool(json.load(handle).get("metadata", {}).get("papermill", {}).get("exception"))


def to_execute(src_notebooks: str = SMOKE_NOTEBOOKS, root: str = ROOT) -> list[str]:
    """Toc notebooks whose executed copy is missing or older than the notebook (repo-relative)."""
    stale = []
    for page in toc_pages(os.path.join(root, "_toc.yml")):
        source, executed = os.path.join(root, page + ".ipynb"), os.path.join(src_notebooks, page + ".ipynb")
        if os.path.exists(source) and (not os.path.exists(executed)
                                       or os.path.getmtime(executed) < os.path.getmtime(source)):
            stale.append(page + ".ipynb")
    return stale


def hide_injected_parameters(executed: str, dest: str) -> None:
    """Copy a notebook, hiding the cell papermill added (the book itself runs without papermill)."""
    with open(executed, encoding="utf-8") as handle:
        nb = json.load(handle)
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    with open(dest, "w", encoding="utf-8") as handle:
        json.dump(nb, handle, ensure_ascii=False, indent=1)


def clear(folder: str, marker: str) -> None:
    """Remove a folder this script made before (it holds `marker`); refuse any other."""
    if os.path.isdir(folder) and os.listdir(folder) and not os.path.exists(os.path.join(folder, marker)):
        raise BuildError(f"{folder} exists and is not a previous build's (no {marker}); not removing it")
    shutil.rmtree(folder, ignore_errors=True)  # symlinks inside are unlinked, never followed


def assemble(src_notebooks: str, src: str = SRC, root: str = ROOT) -> str:
    """Write the source tree to render into `src` (emptied first); return its path."""
    pages = page_sources(src_notebooks, root)
    with open(os.path.join(root, "_config.yml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    sphinx = config.get("sphinx", {}).get("config", {})
    static = list(dict.fromkeys(sphinx.get("html_static_path", []) + ["_static"]))
    mathjax = sphinx.get("mathjax_path", "")
    local = mathjax and not mathjax.startswith(("http:", "https:"))
    if local and not any(os.path.isfile(os.path.join(root, folder, mathjax)) for folder in static):
        raise BuildError(f"mathjax_path {mathjax} is in none of {static}: run `make mathjax`")
    config.setdefault("execute", {})["execute_notebooks"] = "off"

    clear(src, "_toc.yml")
    shutil.copytree(os.path.join(root, "book"), os.path.join(src, "book"), ignore=SKIP)
    for rel, path in pages.items():
        os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
        if rel.endswith(".ipynb"):
            hide_injected_parameters(path, os.path.join(src, rel))
        else:
            shutil.copyfile(path, os.path.join(src, rel))
    for folder in static:  # linked, not copied: MathJax alone is 24 MB
        if os.path.isdir(os.path.join(root, folder)):
            os.symlink(os.path.join(root, folder), os.path.join(src, folder))
    shutil.copyfile(os.path.join(root, "_toc.yml"), os.path.join(src, "_toc.yml"))
    with open(os.path.join(src, "_config.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, allow_unicode=True, sort_keys=False)
    return src


def build(src: str, out: str) -> tuple[int, str]:
    """Run jupyter-book on `src`, move the HTML to `out`; return (exit status, full log)."""
    jb = os.path.join(os.path.dirname(sys.executable), "jupyter-book")
    cmd = [jb if os.path.exists(jb) else "jupyter-book", "build", src,
           "-W", "-n", "--keep-going", "--builder", "html"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    html = os.path.join(src, "_build", "html")
    if os.path.isdir(html):
        clear(out, "objects.inv")
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        shutil.move(html, out)
    elif proc.returncode == 0:
        return 1, log + f"\njupyter-book wrote no HTML to {html}"
    return proc.returncode, log


def warnings_in(log: str, src: str = SRC) -> list[str]:
    """The Sphinx warning and error lines of a build log, once each, paths relative to `src`."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", log).replace(src.rstrip("/") + "/", "").splitlines()
    return list(dict.fromkeys(line for line in lines if re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback", line)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src-notebooks", default=SMOKE_NOTEBOOKS,
                        help="executed notebooks, same paths as in the repository (default: %(default)s)")
    parser.add_argument("--out", default=OUT, help="where the HTML goes (default: %(default)s)")
    parser.add_argument("--src", default=SRC, help="where the source tree is assembled (default: %(default)s)")
    parser.add_argument("--root", default=ROOT, help="the book's repository (default: %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for page in to_execute(os.path.abspath(args.src_notebooks), os.path.abspath(args.root)):
        if os.path.exists(os.path.join(args.src_notebooks, page)):
            print(f"build_book: note: the executed copy of {page} is older than the notebook", file=sys.stderr)
    try:
        src = assemble(os.path.abspath(args.src_notebooks), os.path.abspath(args.src), os.path.abspath(args.root))
    except BuildError as error:
        print(f"build_book: {error}", file=sys.stderr)
        return 2
    try:
        status, log = build(src, os.path.abspath(args.out))
    except BuildError as error:
        print(f"build_book: {error}", file=sys.stderr)
        return 2
    warnings = warnings_in(log, src)
    if status != 0 or warnings:
        print(f"build_book: FAILED (exit {status}); Sphinx warnings and errors:", file=sys.stderr)
        print("\n".join(warnings) or "(none found; the end of the log:)\n" + "\n".join(log.splitlines()[-40:]),
              file=sys.stderr)
        return status or 1
    print(f"build_book: {os.path.relpath(os.path.abspath(args.out), os.getcwd())}/index.html "
          f"built in {time.perf_counter() - start:.0f} s without warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
