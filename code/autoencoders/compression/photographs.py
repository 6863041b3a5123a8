"""Photographs that ship with the installed packages, random training crops, the training stages.

Nothing is downloaded: scikit-learn ships china and flower, matplotlib ships a portrait of Grace
Hopper, scikit-image ships the others. Four colour photographs are held out for evaluation; the
codecs are trained on crops of every other colour photograph.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from autoencoders.compression.learned import CompressionModel, HyperpriorModel

#: Held out for evaluation: the learned codecs never see these during training.
HELD_OUT = ("china", "flower", "astronaut", "grace_hopper")
#: Training photographs: every other colour photograph that ships with the installed packages. With scikit-image's grey photographs (camera, brick,
#: grass, gravel, moon, coins, clock) in the mix, half the crops had no colour at all and the codec
#: learned to drop colour to save bits (decoded photographs came out nearly grey).
TRAINING = (
    "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry", "retina",
    "motorcycle_left", "motorcycle_right",
)
#: scikit-image's grey photographs: :func:`photograph` returns them (repeated over three channels)
#: for tests and examples, but the codecs are not trained on them.
GREY = ("camera", "brick", "grass", "gravel", "moon", "coins", "clock")


def photograph(name: str) -> np.ndarray:
    """One of the bundled photographs as a uint8 RGB array (h, w, 3); nothing is downloaded."""
    from skimage import data as skdata

    if name in ("china", "flower"):
        from sklearn.datasets import load_sample_image

        return load_sample_image(f"{name}.jpg")
    if name == "grace_hopper":
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = skdata.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    if name not in HELD_OUT + TRAINING + GREY:
        raise ValueError(f"unknown photograph {name!r}; known: {HELD_OUT + TRAINING + GREY}")
    image = getattr(skdata, name)()
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


class CropSampler:
    """Random ``size`` x ``size`` crops of the training photographs, as float tensors in [0, 1].

    Each crop comes from a photograph chosen uniformly (not by area, which would let the large,
    partly black retina and Hubble images supply half the crops), gets a
    random horizontal flip and a random permutation of its RGB channels (more colour variety from
    few photographs). Seeded through ``generator``, so a run is reproducible and resumable.
    """

    def __init__(self, names: tuple[str, ...] = TRAINING, size: int = 64) -> None:
        overlap = set(names) & set(HELD_OUT)
        if overlap:
            raise ValueError(f"refusing to train on held-out photographs {sorted(overlap)}")
        self.images = [torch.from_numpy(photograph(n)).permute(2, 0, 1).float().div(255.0) for n in names]
        self.weights = torch.full((len(self.images),), 1.0 / len(self.images))
        self.size = size

    def sample(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """A batch of crops of shape (batch, 3, size, size)."""
        which = torch.multinomial(self.weights, batch, replacement=True, generator=generator)
        crops = []
        for i in which.tolist():
            image = self.images[i]
            top = int(torch.randint(image.shape[1] - self.size + 1, (1,), generator=generator))
            left = int(torch.randint(image.shape[2] - self.size + 1, (1,), generator=generator))
            crop = image[torch.randperm(3, generator=generator), top:top + self.size, left:left + self.size]
            if torch.rand(1, generator=generator).item() < 0.5:
                crop = crop.flip(-1)
            crops.append(crop)
        return torch.stack(crops)


@dataclass(frozen=True)
class PretrainStage:
    """One run of ``scripts/pretrain_codec.py``: objective, length and starting point.

    A stage trains ``steps`` steps of Adam at ``lr``, the last tenth of them at ``lr / 10``, on
    batches of ``batch`` random ``crop`` x ``crop`` crops of :data:`TRAINING`. Stages with
    ``shipped=True`` write ``data/codec_<name>.pt``; the others are shared starting points kept in
    ``.cache/pretrain/``.
    """

    name: str
    lam: float
    distortion: str
    steps: int
    lr: float
    init: str | None = None  # stage whose weights to start from
    crop: int = 64
    batch: int = 8
    seed: int = 0
    shipped: bool = True
    model: str = "factorized"  # or "hyperprior"

    def build(self) -> CompressionModel:
        """A fresh model of this stage's architecture."""
        return HyperpriorModel() if self.model == "hyperprior" else CompressionModel()


#: The rate-distortion trade-off of each MSE codec, lowest rate first.
MSE_LAMBDAS = (0.0006, 0.0021, 0.0050, 0.0200)

#: A shared 3,500-step start, then one factorised MSE model per rate point (``mse_1`` has the lowest
#: rate), each with its own lambda, trained in three runs of its own, each with a fresh optimiser
#: and new crops: 30,000 steps, 15,000 more and 35,000 more (``mse_<k>_30k``, ``mse_<k>_45k``,
#: ``mse_<k>_83k``, all kept in ``.cache/pretrain/``). Then a scale hyperprior is added to these
#: transforms and the whole model trains on larger crops (z then has more than one pixel per
#: crop) in two runs: 20,000 steps (``mse_<k>_103k``) and 20,000 more at half the learning rate
#: (the shipped ``mse_<k>``). The MS-SSIM codec is fine-tuned from ``mse_2``.
PRETRAIN_STAGES = (
    PretrainStage("base", lam=0.0035, distortion="mse", steps=3500, lr=2e-3, shipped=False),
    *(
        PretrainStage(f"mse_{k}_30k", lam=lam, distortion="mse", steps=30000, lr=1e-3, init="base", seed=k, shipped=False)
        for k, lam in enumerate(MSE_LAMBDAS, start=1)
    ),
    *(
        PretrainStage(f"mse_{k}_45k", lam=lam, distortion="mse", steps=15000, lr=1e-3, init=f"mse_{k}_30k", seed=10 + k,
                      shipped=False)
        for k, lam in enumerate(MSE_LAMBDAS, start=1)
    ),
    *(
        PretrainStage(f"mse_{k}_83k", lam=lam, distortion="mse", steps=35000, lr=1e-3, init=f"mse_{k}_45k", seed=20 + k,
                      shipped=False)
        for k, lam in enumerate(MSE_LAMBDAS, start=1)
    ),
    *(
        PretrainStage(f"mse_{k}_103k", lam=MSE_LAMBDAS[k - 1], distortion="mse", steps=20000, lr=1e-3,
                      init=f"mse_{k}_83k", crop=128, batch=2, seed=30 + k, shipped=False, model="hyperprior")
        for k in (2, 3, 1, 4)  # mse_2 first: msssim_2 starts from it
    ),
    *(
        PretrainStage(f"mse_{k}", lam=MSE_LAMBDAS[k - 1], distortion="mse", steps=20000, lr=5e-4,
                      init=f"mse_{k}_103k", crop=128, batch=2, seed=40 + k, model="hyperprior")
        for k in (2, 3, 1, 4)
    ),
    PretrainStage(
        "msssim_2", lam=8.0, distortion="ms-ssim", steps=8000, lr=1e-3, init="mse_2", crop=128, batch=2, seed=5,
        model="hyperprior",
    ),
)


def pretrain_lineage(name: str) -> list[PretrainStage]:
    """The stage ``name`` and every stage it starts from, in that order, back to the shared start."""
    by_name = {s.name: s for s in PRETRAIN_STAGES}
    chain = [by_name[name]]
    while chain[-1].init is not None:
        chain.append(by_name[chain[-1].init])
    return chain
