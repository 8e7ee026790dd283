"""nlpbook.plot_labels: scatter labels that overlap neither each other nor the markers."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.text import Text

from nlpbook.plot_labels import overlapping_labels, place_labels


def _boxes(fig, annotations):
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [Text.get_window_extent(a, renderer) for a in annotations]   # the text, not its leader line


def test_crowded_points_get_labels_that_do_not_overlap():
    rng = np.random.default_rng(0)
    points = rng.normal(0, 1, (40, 2)) * np.array([1.0, 0.3])
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(points[:, 0], points[:, 1], s=12)
    texts = [f"word{i}" for i in range(len(points))]
    annotations, unplaced = place_labels(ax, points, texts)
    assert len(annotations) + len(unplaced) == len(points)
    assert len(annotations) >= len(points) // 2          # crowded, but most get a label
    assert overlapping_labels(ax, annotations) == []
    # no label covers another point's marker box, and every label lies inside the axes
    display = ax.transData.transform(points)
    axes_box = ax.get_window_extent(fig.canvas.get_renderer())
    placed = [i for i in range(len(points)) if i not in unplaced]
    for i, box in zip(placed, _boxes(fig, annotations)):
        assert axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
        for k, (x, y) in enumerate(display):
            if k != i:
                assert not (box.x0 < x < box.x1 and box.y0 < y < box.y1), (texts[i], texts[k])
    plt.close(fig)


def test_naive_offsets_overlap_where_placement_does_not():
    points = np.array([[0.0, 0.0], [0.02, 0.0], [0.04, 0.01], [1.0, 1.0]])
    texts = ["father", "mother", "brother", "far"]
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.scatter(points[:, 0], points[:, 1])
    naive = [ax.annotate(t, p, xytext=(2, 2), textcoords="offset points", fontsize=8) for p, t in zip(points, texts)]
    assert overlapping_labels(ax, naive) != []            # the problem the module solves
    for a in naive:
        a.remove()
    annotations, unplaced = place_labels(ax, points, texts)
    assert overlapping_labels(ax, annotations) == []
    assert 3 not in unplaced                              # an isolated point always gets its label
    plt.close(fig)


def test_legend_is_an_obstacle_and_drop_false_keeps_every_label():
    points = np.array([[0.0, 0.0], [0.01, 0.0], [0.0, 0.01], [0.01, 0.01], [0.005, 0.005]])
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.scatter(points[:, 0], points[:, 1], label="points")
    legend = ax.legend(loc="upper right")
    annotations, unplaced = place_labels(ax, points, ["aaaaaa"] * 5, fontsize=14, obstacles=[legend], drop=False)
    assert len(annotations) == 5                          # drawn anyway, and reported
    legend_box = legend.get_window_extent(fig.canvas.get_renderer())
    placed = [b for i, b in enumerate(_boxes(fig, annotations)) if i not in unplaced]
    assert not any(b.overlaps(legend_box) for b in placed)
    plt.close(fig)


@pytest.mark.parametrize("points, texts, match", [
    (np.zeros((3, 3)), ["a", "b", "c"], "points"),
    (np.zeros((3, 2)), ["a", "b"], "texts"),
])
def test_bad_input_names_the_argument(points, texts, match):
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=match):
        place_labels(ax, points, texts)
    plt.close(fig)


def test_bad_distance_is_rejected():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="distance"):
        place_labels(ax, np.zeros((1, 2)), ["a"], distance=0)
    plt.close(fig)
