"""Show nlpbook's own code in a page, so chapters display the package instead of copying it."""
from __future__ import annotations

import inspect
import os
import re
import textwrap

from IPython.display import Markdown

_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_of(obj) -> tuple[str, str, int]:
    """``(source, path relative to the repository, first line)`` of a function, class or module."""
    obj = inspect.unwrap(obj)  # a decorated function shows its own code, not the decorator's
    try:
        lines, first = inspect.getsourcelines(obj)
        path = inspect.getsourcefile(obj)
    except (TypeError, OSError) as err:
        raise TypeError(f"cannot show the source of {obj!r}: {err}") from err
    rel = os.path.relpath(path, _PACKAGE_ROOT) if path else "<unknown>"
    return textwrap.dedent("".join(lines)), rel.replace(os.sep, "/"), max(first, 1)


def show_source(obj) -> Markdown:
    """Render ``obj``'s source with syntax highlighting and where it lives.

    Returns a Markdown object: Jupyter, Colab and the rendered book all highlight its fenced
    ``python`` block. The code shown is the code that runs, read from the installed package.
    """
    source, rel, first = source_of(obj)
    last = first + source.count("\n") - 1
    name = getattr(obj, "__qualname__", getattr(obj, "__name__", "module"))
    # A fence longer than any backtick run inside the source keeps it intact.
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", source)), default=0))
    return Markdown(f"**`{name}`** — `{rel}`, lines {first}–{last}\n\n{fence}python\n{source.rstrip()}\n{fence}\n")
