r"""Labels for the points of a scatter plot that overlap neither each other nor the markers.

A word plot (a PCA of word vectors) puts dozens of labels next to dots that crowd together;
matplotlib's ``annotate`` at a fixed offset piles them on top of one another. This module
places them greedily, without any extra dependency. Label $i$ goes at the first offset $o$ of
a fixed list of candidates $O$ (to the right, left, above, below and on the diagonals of its
point, then the same 2, 3, 4.5 and 6 times as far, with a thin leader line from the point once
the label is not next to it) whose box is free:

$$
o_i = \min\nolimits_{\text{list order}} \{\, o \in O :\ B_i(o) \cap B_j = \emptyset\ \ \forall j < i,\ \
      B_i(o) \cap M_k = \emptyset\ \ \forall k,\ \ B_i(o) \subseteq A \,\}
$$

where $B_i(o)$ is the label's bounding box in display pixels, $M_k$ the box of marker $k$
(a square of side ``2 * marker_radius`` points around it), the boxes of obstacles such as the
legend, and $A$ the axes. A label with no free candidate is left out (``drop=True``) rather
than drawn over another one; the caller can name the points left unlabelled.

Place the labels *after* the figure's layout and the axis limits are final (the function fixes
the limits): offsets are in points, so a later change of the axes' size moves the dots but not
the offsets, and could make labels meet again.

Shapes: ``points (N, 2)`` in data coordinates, ``texts`` N strings.
"""
from __future__ import annotations

import numpy as np

__all__ = ["place_labels", "overlapping_labels"]

_DIRECTIONS = [  # (dx, dy, horizontal alignment, vertical alignment), nearest first
    (1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
    (0, -1, "center", "top"), (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"),
    (1, -1, "left", "top"), (-1, -1, "right", "top"),
]


_SCALES = (1, 2, 3, 4.5, 6)  # rings of candidates, in units of ``distance``


def _renderer(fig):
    fig.canvas.draw()                      # the layout, and text extents, are only known once drawn
    return fig.canvas.get_renderer()


def place_labels(ax, points, texts, *, fontsize: float = 8.0, distance: float = 4.0,
                 marker_radius: float = 3.0, obstacles=(), drop: bool = True, pad: float = 1.0):
    """Annotate ``points (N, 2)`` with ``texts`` (N strings) so that no two labels overlap.

    ``distance``: the nearest offset from a point to its label, in points (the candidates go to
    six times that; a label placed farther than the nearest ring gets a leader line); ``marker_radius``: half the side of the box kept free around every point,
    in points; ``obstacles``: artists (a legend, say) that labels must not cover; ``pad``:
    pixels of clearance around every box. Returns ``(annotations, unplaced)``: the text artists
    drawn and the indices of the points left unlabelled (with ``drop=False`` those are drawn at
    their least-overlapping candidate instead, and still listed).
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    texts = [str(t) for t in texts]
    if len(texts) != len(points):
        raise ValueError(f"texts has {len(texts)} entries but points has {len(points)} rows")
    if distance <= 0 or marker_radius < 0 or pad < 0:
        raise ValueError(f"distance must be > 0 and marker_radius, pad >= 0; got {distance}, {marker_radius}, {pad}")
    from matplotlib.transforms import Bbox

    fig = ax.figure
    ax.set_xlim(ax.get_xlim())             # freeze autoscaling: the labels must not move the dots
    ax.set_ylim(ax.get_ylim())
    renderer = _renderer(fig)
    px_per_point = fig.dpi / 72.0
    display = ax.transData.transform(points)                               # (N, 2) pixels
    r = marker_radius * px_per_point
    markers = [Bbox.from_extents(x - r, y - r, x + r, y + r) for x, y in display]
    blocked = [o.get_window_extent(renderer).padded(pad) for o in obstacles]
    axes_box = ax.get_window_extent(renderer)
    candidates = [(dx * distance * scale, dy * distance * scale, ha, va)
                  for scale in _SCALES for dx, dy, ha, va in _DIRECTIONS]
    placed_boxes, annotations, unplaced = [], [], []

    def overlap_area(box, others):
        total = 0.0
        for other in others:
            w = min(box.x1, other.x1) - max(box.x0, other.x0)
            h = min(box.y1, other.y1) - max(box.y0, other.y0)
            if w > 0 and h > 0:
                total += w * h
        return total

    for i, (point, text) in enumerate(zip(points, texts)):
        annotation = ax.annotate(text, point, xytext=candidates[0][:2], textcoords="offset points",
                                 fontsize=fontsize, ha=candidates[0][2], va=candidates[0][3])
        others_markers = markers[:i] + markers[i + 1:]
        best, best_cost = None, np.inf
        for dx, dy, ha, va in candidates:
            annotation.set_position((dx, dy))
            annotation.set_ha(ha)
            annotation.set_va(va)
            box = annotation.get_window_extent(renderer).padded(pad)
            inside = (box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1
                      and box.y0 >= axes_box.y0 and box.y1 <= axes_box.y1)
            cost = overlap_area(box, placed_boxes + others_markers + blocked) + (0.0 if inside else 1e9)
            if cost < best_cost:
                best, best_cost = (dx, dy, ha, va, box), cost
            if cost == 0.0:
                break
        dx, dy, ha, va, box = best
        annotation.remove()                # the probe; the label is drawn anew where it fits
        if best_cost > 0.0:
            unplaced.append(i)
            if drop:
                continue
        far = max(abs(dx), abs(dy)) > 1.5 * distance   # not next to its point: a thin leader line
        # the line leaves the label at the corner or edge that faces the point
        relpos = (0.5 - 0.5 * np.sign(dx), 0.5 - 0.5 * np.sign(dy))
        arrow = dict(arrowstyle="-", color="0.55", lw=0.5, shrinkA=1, shrinkB=2, relpos=relpos) if far else None
        annotations.append(ax.annotate(text, point, xytext=(dx, dy), textcoords="offset points",
                                       fontsize=fontsize, ha=ha, va=va, arrowprops=arrow))
        placed_boxes.append(box)
    return annotations, unplaced


def overlapping_labels(ax, annotations, pad: float = 0.0) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` of ``annotations`` whose drawn boxes overlap (an empty list is what a plot wants)."""
    from matplotlib.text import Text

    renderer = _renderer(ax.figure)
    # the text's own box: an annotation's extent would include its leader line
    boxes = [Text.get_window_extent(a, renderer).padded(pad) for a in annotations]
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if boxes[i].overlaps(boxes[j])]
