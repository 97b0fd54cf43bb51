"""Tables and figures: what they hold, and that no pyplot state is touched."""

from __future__ import annotations

import io

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from helpers import history  # noqa: E402

from scattn.compare import ComparisonTable  # noqa: E402
from scattn.plots import plot_channel_weights, plot_comparison, plot_history, plot_overlay  # noqa: E402
from scattn.table import Table  # noqa: E402


def comparison() -> ComparisonTable:
    hs = {"none": [history([0.5, 0.8]), history([0.55, 0.82])],
          "cbam": [history([0.6, 0.9], 1.5), history([0.62, 0.92], 1.5)]}
    rows = [{"attention": k, "accuracy_mean": sum(h.final["test_acc"] for h in v) / 2,
             "accuracy_std": 0.01, "accuracies": [h.final["test_acc"] for h in v],
             "params": 1000 + 100 * i, "flops": 2_000_000, "seconds_per_epoch": 1.0 + 0.5 * i,
             "epochs": 2} for i, (k, v) in enumerate(hs.items())]
    return ComparisonTable(rows, hs)


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before, "library code must not open pyplot figures"


def png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_table_text_html_markdown():
    t = Table([{"name": "cbam", "acc": 0.9312, "note": "<b>"}, {"name": "se", "acc": 0.9, "note": None}],
              formats={"acc": lambda v: f"{100 * v:.1f}%"}, headers={"acc": "accuracy"}, title="demo")
    lines = str(t).splitlines()
    assert lines[0] == "demo" and lines[1].split() == ["name", "accuracy", "note"]
    assert "93.1%" in lines[3] and lines[4].split()[:2] == ["se", "90.0%"]
    assert lines[3].index("93.1%") == lines[4].index("90.0%")  # numbers right-aligned, same column
    html = t._repr_html_()
    assert "<caption>demo</caption>" in html and "&lt;b&gt;" in html and "<b>" not in html
    md = t.to_markdown().splitlines()
    assert md[0] == "| name | accuracy | note |" and md[2] == "| cbam | 93.1% | <b> |"
    assert "–" in md[3]  # None shows as a dash


def test_plot_history_panels_and_lines():
    fig = plot_history({"none": history([0.5, 0.7, 0.8]), "cbam": [history([0.6, 0.8, 0.9]),
                                                                     history([0.62, 0.84, 0.93])]})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert len(acc_ax.lines) == 4  # 2 labels × (train, test)
    test_cbam = [l for l in acc_ax.lines if l.get_label() == "cbam (test)"][0]
    assert test_cbam.get_ydata().tolist() == pytest.approx([0.61, 0.82, 0.915])  # mean over seeds
    assert len(acc_ax.collections) == 2  # min-max bands only for the 2-seed group
    assert png_bytes(fig).startswith(b"\x89PNG")


def test_plot_history_over_time_and_errors():
    fig = plot_history([history([0.5, 0.6], seconds=2.0)], metrics=("accuracy",), x="time")
    (ax,) = fig.axes
    assert ax.lines[0].get_xdata().tolist() == [2.0, 4.0]
    assert ax.get_xlabel() == "training time (s)"
    with pytest.raises(ValueError, match="x must be"):
        plot_history(history([0.5]), x="steps")
    with pytest.raises(ValueError, match="unknown metric"):
        plot_history(history([0.5]), metrics=("f1",))
    with pytest.raises(ValueError, match="plot_history expects"):
        plot_history(42)


def test_plot_overlay_one_panel_per_image_with_boxes():
    images = torch.rand(5, 1, 20, 20)
    maps = torch.rand(5, 5, 5)
    boxes = torch.tensor([[2, 2, 10, 10]] * 5)
    fig = plot_overlay(images, maps, boxes=boxes, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6  # 2 rows × 3, the last empty
    first = fig.axes[0]
    assert len(first.images) == 2 and first.images[1].get_array().shape == (20, 20)  # upsampled map
    assert len(first.patches) == 1 and first.get_title() == "a"
    assert not fig.axes[5].images
    with pytest.raises(ValueError, match="3 images but 2 maps"):
        plot_overlay(torch.rand(3, 8, 8), torch.rand(2, 4, 4))
    with pytest.raises(ValueError, match="plot_overlay expects"):
        plot_overlay(torch.rand(3, 8, 8), torch.rand(3, 2, 4, 4))
    assert len(plot_overlay(torch.rand(2, 8, 8), torch.rand(2, 1, 4, 4)).axes) == 2  # a captured gate


def test_plot_channel_weights_bars():
    w = torch.rand(4, 16, 1, 1)
    fig = plot_channel_weights(w, top=5, title="stage 3")
    (ax,) = fig.axes
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 5 and heights == sorted(heights, reverse=True)
    assert heights[0] == pytest.approx(w.mean(0).max().item())
    assert len(plot_channel_weights(torch.rand(8)).axes[0].patches) == 8
    with pytest.raises(ValueError, match="channel weights must be"):
        plot_channel_weights(torch.rand(2, 3, 4, 4))


def test_plot_comparison_dots_and_time_curves():
    fig = plot_comparison(comparison(), budget=2.0)
    dots, curves = fig.axes
    assert not dots.patches  # no bars
    points = sorted(y for line in dots.lines if line.get_marker() == "o" for y in line.get_ydata())
    assert points == pytest.approx([80.0, 82.0, 90.0, 92.0])  # every seed of both variants
    means = [line.get_ydata()[0] for line in dots.lines if line.get_marker() in ("None", "")]
    assert means == pytest.approx([81.0, 91.0])
    assert len(curves.lines) == 4 + 1  # 2 variants × 2 seeds, and the budget line
    assert curves.lines[2].get_xdata().tolist() == [1.5, 3.0]  # cbam is slower per epoch
    with pytest.raises(ValueError, match="no rows"):
        plot_comparison(ComparisonTable([], {}))


def test_plot_seed_curves_one_line_per_seed_and_log_loss():
    from scattn.plots import plot_seed_curves

    fig = plot_seed_curves(comparison())
    loss, acc = fig.axes
    assert loss.get_yscale() == "log" and acc.get_yscale() == "linear"
    assert len(acc.lines) == 2 * 2 * 2  # 2 variants × 2 seeds × (train, test): no averaging
    assert max(max(line.get_ydata()) for line in acc.lines) > 1  # percent
    assert len(png_bytes(fig)) > 1000
    with pytest.raises(ValueError, match="unknown metric"):
        plot_seed_curves(comparison(), metrics=("f1",))


def test_plot_seed_dots_shows_every_seed_and_the_paired_differences():
    from scattn.plots import plot_seed_dots

    fig = plot_seed_dots(comparison())
    dots, diffs = fig.axes
    points = [line for line in dots.lines if line.get_marker() not in ("None", "")]
    assert len(points) == 4  # 2 variants × 2 seeds
    values = sorted(float(line.get_ydata()[0]) for line in diffs.lines if line.get_marker() not in ("None", ""))
    assert values == pytest.approx([10.0, 10.0])  # cbam − none on each seed, in points
    assert len(plot_seed_dots({"a": [0.5, 0.6]}, baseline=None).axes) == 1
    with pytest.raises(ValueError, match="baseline 'plain' is not among"):
        plot_seed_dots(comparison(), baseline="plain")
    with pytest.raises(ValueError, match="expected a ComparisonTable"):
        plot_seed_dots([0.5])
