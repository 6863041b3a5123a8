"""Figures in one shared style: image grids, loss curves and 2-D latent scatters."""

from __future__ import annotations

from typing import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from autoencoders.runtime import to_numpy

# Width in inches of a figure that spans the text column. At the style's dpi (110) a figure this
# wide is 660 pixels, which the book shows at its natural size: the text column is 688 pixels wide
# in a 1280-pixel browser window (narrower windows shrink figures, wider ones do not enlarge them).
# Text of the style's font size (10 pt = 15 px at 110 dpi) then renders at about the book's body
# size (16 px). Use ``figsize=(WIDTH, h)`` or a fraction of WIDTH; never a wider figure.
WIDTH = 6.0

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 110,
    "figure.facecolor": "white",  # readable on the book's light and dark themes alike
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
    "axes.titlesize": "medium",  # every text of a figure at font.size: titles, labels, ticks, legends
    "axes.labelsize": "medium",
    "xtick.labelsize": "medium",
    "ytick.labelsize": "medium",
    "legend.fontsize": "medium",
    "legend.frameon": False,
    "image.cmap": "gray",
}


def use_style() -> None:
    """Apply the book's matplotlib style (every chapter calls it once, via its first cell)."""
    mpl.rcParams.update(STYLE)


def _as_images(images: np.ndarray) -> np.ndarray:
    """(n, d) rows, (n, 1, h, w) tensors or (n, h, w[, 3]) arrays -> (n, h, w[, 3]) numpy."""
    images = to_numpy(images)
    if images.ndim == 2:  # rows of a data matrix: square grey images
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(f"rows of length {images.shape[1]} are not square images; reshape them first")
        return images.reshape(-1, side, side)
    if images.ndim == 4 and images.shape[1] in (1, 3):  # torch layout (n, c, h, w)
        images = np.moveaxis(images, 1, -1)
        return images[..., 0] if images.shape[-1] == 1 else images
    return images


def _text_size(fig: plt.Figure, texts: Sequence[str], fontsize: float) -> tuple[float, float]:
    """Width and height in inches of the largest of ``texts`` drawn at ``fontsize``."""
    renderer = fig.canvas.get_renderer()
    width = height = 0.0
    for text in texts:
        artist = fig.text(0, 0, text, fontsize=fontsize)
        box = artist.get_window_extent(renderer)
        artist.remove()
        width, height = max(width, box.width / fig.dpi), max(height, box.height / fig.dpi)
    return width, height


def image_grid(
    rows: Sequence[np.ndarray],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    scale: float = 1.0,
    cmap: str = "gray",
    width: float | None = None,
) -> plt.Figure:
    """Show rows of images (for example inputs over reconstructions) as one grid without axes.

    Each row is a batch in any layout ``_as_images`` reads: (n, d) rows of square images,
    (n, 1, h, w) or (n, 3, h, w) tensors, or (n, h, w[, 3]) arrays. ``vmin``/``vmax`` fix the
    grey scale (pixel values in [0, 1] by default) so that rows can be compared by eye.

    The grid fits into ``width`` inches (the text column, :data:`WIDTH`, by default), so the book
    shows it at its natural size: the row labels (left, horizontal) and column labels (top) are
    set at the style's font size and the panels share what is left of the width, each at most
    ``scale`` inches wide (a few columns do not blow up into a poster).
    """
    rows = [_as_images(r) for r in rows]
    if not rows or min(len(r) for r in rows) == 0:
        raise ValueError("image_grid needs at least one row, each with at least one image")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"row_labels has {len(row_labels)} labels for {len(rows)} rows")
    width = WIDTH if width is None else width
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fontsize = mpl.rcParams["font.size"]
    fig = plt.figure(figsize=(width, 1.0))
    pad, gap, margin = 0.08, 0.04, 0.02  # inches: label to image, between panels, around the grid
    label_w = _text_size(fig, row_labels, fontsize)[0] + pad if row_labels is not None else 0.0
    titles = [str(c) for c in (col_labels or [])]
    title_h = _text_size(fig, titles, fontsize)[1] + pad if titles else 0.0
    aspect = max(r.shape[1] / r.shape[2] for r in rows)  # panel height / width (square digits: 1)
    panel = min(scale, (width - label_w - 2 * margin - gap * (n_cols - 1)) / n_cols)
    if panel <= 0.05:
        raise ValueError(f"{n_cols} columns and labels {label_w:.1f} inches wide do not fit in {width} inches")
    fig_w = label_w + 2 * margin + n_cols * panel + gap * (n_cols - 1)
    fig_h = title_h + 2 * margin + n_rows * panel * aspect + gap * (n_rows - 1)
    fig.set_size_inches(fig_w, fig_h)
    for i, row in enumerate(rows):
        for j in range(n_cols):
            left = margin + label_w + j * (panel + gap)
            bottom = fig_h - margin - title_h - (i + 1) * panel * aspect - i * gap
            ax = fig.add_axes((left / fig_w, bottom / fig_h, panel / fig_w, panel * aspect / fig_h))
            ax.set_xticks([]), ax.set_yticks([]), ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(row):
                ax.imshow(row[j], cmap=cmap, vmin=vmin, vmax=vmax)
            if j == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[i], rotation=0, ha="right", va="center", fontsize=fontsize,
                              labelpad=pad * 72)
            if i == 0 and j < len(titles):
                ax.set_title(titles[j], fontsize=fontsize, pad=pad * 72)
    return fig


def loss_curves(history: dict[str, Sequence[float]], ylabel: str = "loss", logy: bool = True, ax=None) -> plt.Axes:
    """Plot each series of a training history (e.g. ``train`` and ``test`` loss) against the epoch."""
    if ax is None:
        _, ax = plt.subplots(figsize=(0.65 * WIDTH, 0.42 * WIDTH))
    for name, values in history.items():
        if name == "epoch" or not len(values):
            continue
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


def latent_scatter(codes: np.ndarray, labels: np.ndarray, ax=None, title: str = "") -> plt.Axes:
    """Scatter 2-D codes coloured by class label, with a legend of the classes."""
    codes, labels = to_numpy(codes), to_numpy(labels)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(f"latent_scatter needs codes of shape (n, 2), got {codes.shape}")
    if labels.shape != (len(codes),):
        raise ValueError(f"latent_scatter needs one label per code: {len(codes)} codes, labels of shape {labels.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.7 * WIDTH, 0.6 * WIDTH))
    cmap = plt.get_cmap("tab10")
    for label in np.unique(labels):
        sel = labels == label
        ax.scatter(codes[sel, 0], codes[sel, 1], s=6, alpha=0.7, color=cmap(int(label) % 10), label=str(label))
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.legend(markerscale=3, title="label", loc="center left", bbox_to_anchor=(1, 0.5))
    if title:
        ax.set_title(title)
    return ax
