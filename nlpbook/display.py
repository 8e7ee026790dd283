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


# ---------------------------------------------------------------------------------------------
# Tables: one look for the whole book.

def _format_number(value, percent: bool = False, digits: int = 4) -> str:
    """A number as a reader wants it: 1,234,567; 0.2899; 3.1e-07; 45.2% (``percent`` columns)."""
    import math
    import numbers

    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()  # numpy / torch scalars
    if isinstance(value, numbers.Integral):
        return f"{value:,}"
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if percent:
            return f"{100 * value:.{max(digits - 3, 1)}f}%"
        if value == 0:
            return "0"
        magnitude = abs(value)
        if magnitude >= 10 ** digits:
            return f"{value:,.0f}"
        if magnitude < 1e-3 or magnitude >= 1e15:
            return f"{value:.{max(digits - 2, 1)}e}"
        return f"{value:,.{digits}g}" if magnitude < 1000 else f"{value:,.{max(digits - 4, 0)}f}"
    return str(value)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def table(rows, *, percent=(), formats=None, digits: int = 4, columns=None, align=None) -> Markdown:
    """A Markdown table in the book's style, from a DataFrame or a list of dicts.

    - integers get thousands separators (``3,510,559``), floats ``digits`` significant digits
      (large ones are rounded to units, tiny ones written as ``3.1e-07``);
    - columns named in ``percent`` hold fractions and print as percentages (``0.437`` → ``43.7%``);
    - ``formats`` maps a column to a format string (``"{:.2e}"``) or a function of the value;
    - strings are shown as they are (they may hold MyST math, ``$\\rho$``), ``None``/NaN as "–".

    Put units in the column names ("train (s)", "words/s"). Numbers are right-aligned and text
    left-aligned unless ``align`` maps a column to "left", "right" or "center".
    Returns :class:`IPython.display.Markdown`; the book and Jupyter render it with the theme's table style.
    """
    if hasattr(rows, "to_dict"):  # a pandas DataFrame, without its index
        rows = rows.to_dict(orient="records")
    rows = list(rows)
    if not rows:
        raise ValueError("table: rows is empty; there is nothing to show")
    if not all(isinstance(row, dict) for row in rows):
        raise TypeError("table: rows must be a DataFrame or a list of dicts (one dict per row)")
    columns = list(columns) if columns is not None else list(dict.fromkeys(k for row in rows for k in row))
    formats, align = dict(formats or {}), dict(align or {})
    unknown = [c for c in [*percent, *formats, *align] if c not in columns]
    if unknown:
        raise ValueError(f"table: percent/formats/align name columns that are not in the table: {unknown}")

    def shown(column, value):
        spec = formats.get(column)
        if spec is not None and value is not None:
            return spec(value) if callable(spec) else spec.format(value)
        return _format_number(value, percent=column in percent, digits=digits)

    import numbers

    def is_numeric(column):
        values = [row.get(column) for row in rows if row.get(column) is not None]
        return bool(values) and all(isinstance(v, numbers.Number) or hasattr(v, "item") for v in values)

    rule = {"left": ":---", "right": "---:", "center": ":---:"}
    lines = ["| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "|".join(rule[align.get(c, "right" if is_numeric(c) else "left")] for c in columns) + "|"]
    lines += ["| " + " | ".join(_cell(shown(c, row.get(c))) for c in columns) + " |" for row in rows]
    return Markdown("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Progress bars: in Jupyter and Colab, never in the rendered book.

PROGRESS_ENV_VAR = "NLPBOOK_PROGRESS"


def progress_enabled(progress: bool | None = None) -> bool:
    """``progress`` if given, else ``$NLPBOOK_PROGRESS`` (``0`` turns bars off; ``make book`` and the tests set it)."""
    if progress is not None:
        return bool(progress)
    return os.environ.get(PROGRESS_ENV_VAR, "1") != "0"


def progress(iterable=None, *, progress: bool | None = None, **tqdm_kwargs):
    """``tqdm(iterable, ...)``, disabled where :func:`progress_enabled` says so."""
    import sys

    from tqdm import tqdm

    tqdm_kwargs.setdefault("file", sys.stdout)
    tqdm_kwargs.setdefault("mininterval", 1.0)
    tqdm_kwargs.setdefault("ncols", 100)
    return tqdm(iterable, disable=not progress_enabled(progress), **tqdm_kwargs)


# ---------------------------------------------------------------------------------------------
# Figures: sharp, and no wider than the page's text column.

FIGURE_MAX_WIDTH_IN = 7.0  # at 96 dpi this is 672 px: the book's column at 1280 px is about 690 px


def use_book_style() -> None:
    """Figures as the book shows them: retina PNG (sharp on any screen), 7 inches wide at most.

    Called by :func:`nlpbook.setup`. Outside IPython only the matplotlib defaults change.
    """
    import matplotlib

    matplotlib.rcParams.update({
        "figure.figsize": (FIGURE_MAX_WIDTH_IN, 4.0),
        "figure.dpi": 96,
        "savefig.dpi": 96,
        "font.size": 9.5,
        "axes.titlesize": 10,
        "axes.labelsize": 9.5,
        "legend.fontsize": 8.5,
        "figure.constrained_layout.use": False,
    })
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        from IPython import get_ipython
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")
