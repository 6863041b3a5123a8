"""The linear transform codec: PCA on blocks, uniform quantisation, entropy coding."""

from __future__ import annotations

import numpy as np

from autoencoders.compression.bitstream import (
    HEADER_SIZE, check_codec_image, entropy_decode, entropy_encode, normalised_pmfs, pack, unpack,
)

class PCACodec:
    """The linear transform codec: PCA on b x b blocks, uniform quantisation, entropy coding.

    The encoder is the linear autoencoder of the PCA chapter (project each block on the top ``k``
    principal components), then each coefficient is rounded to a multiple of ``step`` and range-coded
    with a per-component histogram learned by :meth:`fit`. With ``block`` equal to the image size
    it is a whole-image PCA codec.

    Parameters
    ----------
    block : int
        Side of the square blocks (images are edge-padded to a multiple of it).
    k : int, optional
        Components kept; all of them by default.
    step : float
        Quantisation step of the coefficients, in grey levels (0..255): larger means fewer bits.
    radius : int
        Quantised coefficients are clamped to [-radius, radius].
    """

    header_size = HEADER_SIZE

    def __init__(self, block: int = 8, k: int | None = None, step: float = 16.0, radius: int = 64) -> None:
        if block < 1 or step <= 0 or radius < 1 or (k is not None and k < 1):
            raise ValueError(f"need block >= 1, step > 0, radius >= 1, k >= 1; got {block}, {step}, {radius}, {k}")
        self.block, self.k, self.step, self.radius = block, k, float(step), radius
        self.pca_ = None

    def _blocks(self, image: np.ndarray) -> np.ndarray:
        """Edge-padded image -> rows of b*b*c values in 0..255."""
        b = self.block
        img = image if image.ndim == 3 else image[..., None]
        h, w, c = img.shape
        img = np.pad(img, ((0, -h % b), (0, -w % b), (0, 0)), mode="edge").astype(np.float64)
        hb, wb = img.shape[0] // b, img.shape[1] // b
        return img.reshape(hb, b, wb, b, c).transpose(0, 2, 1, 3, 4).reshape(hb * wb, b * b * c)

    def fit(self, images) -> "PCACodec":
        """Learn the components from training images and the coefficient histograms at ``step``."""
        from sklearn.decomposition import PCA

        images = [check_codec_image(im) for im in images]
        if not images:
            raise ValueError("fit needs at least one training image")
        self.channels_ = 1 if images[0].ndim == 2 else images[0].shape[2]
        blocks = np.concatenate([self._blocks(im) for im in images])
        k = min(self.k or blocks.shape[1], *blocks.shape)
        self.pca_ = PCA(n_components=k, random_state=0).fit(blocks)  # sklearn picks the SVD solver
        q = self._quantise(self.pca_.transform(blocks))
        counts = np.stack([np.bincount(col, minlength=2 * self.radius + 1) for col in q.T]).astype(np.float64)
        self.pmfs_ = normalised_pmfs(counts + 0.5)  # add-1/2 so unseen values stay codable
        return self

    def _quantise(self, coefficients: np.ndarray) -> np.ndarray:
        """Coefficient indices in 0..2 radius (rounded to the step, clamped, shifted)."""
        return np.clip(np.round(coefficients / self.step), -self.radius, self.radius).astype(np.int64) + self.radius

    def _check(self, image: np.ndarray) -> np.ndarray:
        if self.pca_ is None:
            raise ValueError("this PCACodec is not fitted yet: call fit(training_images) first")
        image = check_codec_image(image)
        if (1 if image.ndim == 2 else image.shape[2]) != self.channels_:
            raise ValueError(f"codec fitted on {self.channels_}-channel images, got shape {image.shape}")
        return image

    def _n_blocks(self, shape: tuple[int, ...]) -> int:
        return -(-shape[0] // self.block) * -(-shape[1] // self.block)

    def encode(self, image: np.ndarray) -> bytes:
        """Header + range-coded quantised PCA coefficients of every block."""
        image = self._check(image)
        q = self._quantise(self.pca_.transform(self._blocks(image)))
        rows = np.tile(np.arange(q.shape[1]), q.shape[0])
        return pack("pca", image.shape, entropy_encode(q.ravel(), rows, self.pmfs_))

    def decode(self, data: bytes) -> np.ndarray:
        """The image from the bytes of :meth:`encode`; damaged bytes raise ValueError."""
        shape, payload = unpack("pca", data)
        if self.pca_ is None:
            raise ValueError("this PCACodec is not fitted yet: call fit(training_images) first")
        k, n = self.pca_.n_components_, self._n_blocks(shape)
        q = entropy_decode(payload, np.tile(np.arange(k), n), self.pmfs_).reshape(n, k)
        blocks = self.pca_.inverse_transform((q - self.radius) * self.step)
        b, c = self.block, self.channels_
        hb, wb = -(-shape[0] // b), -(-shape[1] // b)
        img = blocks.reshape(hb, wb, b, b, c).transpose(0, 2, 1, 3, 4).reshape(hb * b, wb * b, c)
        out = np.clip(np.round(img[: shape[0], : shape[1]]), 0, 255).astype(np.uint8)
        return out.reshape(shape)

