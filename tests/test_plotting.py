"""The shared figures: they accept the layouts the chapters pass and refuse bad input clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from autoencoders import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_reads_rows_tensors_and_arrays():
    rows = [np.random.default_rng(0).random((4, 784)), torch.rand(3, 1, 28, 28), np.zeros((4, 28, 28))]
    fig = plotting.image_grid(rows, row_labels=["rows", "tensor", "array"])
    assert len(fig.axes) == 3 * 4
    assert len(fig.axes[0].images) == 1 and fig.axes[0].images[0].get_array().shape == (28, 28)
    assert len(fig.axes[7].images) == 0, "a shorter row leaves its last cells empty"
    assert fig.axes[4].get_ylabel() == "tensor"


def test_image_grid_refuses_bad_input():
    with pytest.raises(ValueError, match="not square images"):
        plotting.image_grid([np.zeros((2, 10))])
    with pytest.raises(ValueError, match="row_labels has 1 labels for 2 rows"):
        plotting.image_grid([np.zeros((2, 4, 4))] * 2, row_labels=["a"])
    with pytest.raises(ValueError, match="at least one row"):
        plotting.image_grid([])


def test_loss_curves_plot_every_series_against_the_epoch():
    ax = plotting.loss_curves({"train": [1.0, 0.5, 0.25], "test": [1.2, 0.6, 0.4]})
    assert [line.get_label() for line in ax.lines] == ["train", "test"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"


def test_latent_scatter_one_colour_per_class():
    codes = np.random.default_rng(0).normal(size=(30, 2))
    ax = plotting.latent_scatter(torch.tensor(codes), np.arange(30) % 3)
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]


def test_latent_scatter_refuses_bad_input():
    with pytest.raises(ValueError, match=r"codes of shape \(n, 2\)"):
        plotting.latent_scatter(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="one label per code"):
        plotting.latent_scatter(np.zeros((5, 2)), np.zeros(4))


def test_image_grid_fits_the_text_column_with_labels_at_the_style_font_size():
    plotting.use_style()
    labels = ["input", "a much longer row label", "PCA k = 32"]
    for n_cols in (3, 10, 24):
        rows = [np.zeros((n_cols, 28, 28))] * 3
        fig = plotting.image_grid(rows, row_labels=labels, col_labels=[f"$f^{{{j}}}$" for j in range(n_cols)])
        width, height = fig.get_size_inches()
        assert width <= plotting.WIDTH + 1e-9, f"{n_cols} columns: the grid is wider than the text column"
        fig.canvas.draw()
        extent = fig.get_tightbbox(fig.canvas.get_renderer())
        assert extent.x0 >= -0.01 and extent.x1 <= width + 0.01, "a label sticks out of the figure"
        sizes = {fig.axes[0].yaxis.label.get_fontsize(), fig.axes[0].title.get_fontsize()}
        assert sizes == {matplotlib.rcParams["font.size"]}, f"labels drawn at {sizes}, not the style's font size"
        panels = {round(ax.get_position().width * width, 6) for ax in fig.axes}
        assert len(panels) == 1, "every panel has the same size"
        if n_cols == 24:
            assert abs(width - plotting.WIDTH) < 1e-6, "many columns share the whole width"
        plt.close(fig)


def test_image_grid_keeps_few_panels_at_most_scale_inches():
    fig = plotting.image_grid([np.zeros((2, 28, 28))], scale=0.8)
    assert abs(fig.axes[0].get_position().width * fig.get_size_inches()[0] - 0.8) < 1e-6
    with pytest.raises(ValueError, match="do not fit"):
        plotting.image_grid([np.zeros((200, 28, 28))], row_labels=["x" * 80])


def test_default_figures_fit_the_text_column():
    ax = plotting.loss_curves({"train": [1.0, 0.5]})
    assert ax.figure.get_size_inches()[0] <= plotting.WIDTH
    ax = plotting.latent_scatter(np.zeros((4, 2)), np.arange(4))
    assert ax.figure.get_size_inches()[0] <= plotting.WIDTH
