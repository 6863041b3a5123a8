"""One training loop for every chapter: mini-batches, a progress bar, a loss history.

The loss is a function ``loss_fn(model, *batch) -> scalar tensor`` so the same loop trains an
autoencoder (batch = images), a denoising autoencoder (batch = noisy, clean) or a classifier
(batch = images, labels). Given the seed, the history is the same on every run.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn
from tqdm.auto import tqdm

from autoencoders.runtime import device as default_device

LossFn = Callable[..., torch.Tensor]


def reconstruction_loss(model: nn.Module, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error between f(x) and the target (x itself unless given), per pixel."""
    target = x if target is None else target
    return nn.functional.mse_loss(model(x), target)


def classification_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the model's class scores."""
    return nn.functional.cross_entropy(model(x), y)


def _as_tuple(data: torch.Tensor | Sequence[torch.Tensor]) -> tuple[torch.Tensor, ...]:
    return (data,) if isinstance(data, torch.Tensor) else tuple(data)


@torch.no_grad()
def evaluate(model: nn.Module, data, loss_fn: LossFn = reconstruction_loss, batch_size: int = 1000) -> float:
    """The mean of ``loss_fn`` over ``data`` (weighted by batch size), in eval mode."""
    tensors = _as_tuple(data)
    dev = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(tensors[0]), batch_size):
        batch = [t[start:start + batch_size].to(dev) for t in tensors]
        total += loss_fn(model, *batch).item() * len(batch[0])
        count += len(batch[0])
    model.train(was_training)
    return total / count


def fit(
    model: nn.Module,
    train,
    test=None,
    *,
    loss_fn: LossFn = reconstruction_loss,
    epochs: int = 10,
    batch_size: int = 128,
    optimizer: Callable[..., torch.optim.Optimizer] | None = None,
    lr: float = 1e-3,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
    seed: int = 0,
    device: torch.device | None = None,
    progress: bool = True,
    desc: str = "training",
) -> dict[str, list[float]]:
    """Train ``model`` with mini-batches and return its loss history.

    Parameters
    ----------
    model : nn.Module
        The network to train (moved to ``device``).
    train, test : tensor or tuple of tensors
        Training and optional test data; a tuple's tensors are batched together and passed to
        ``loss_fn`` after the model (e.g. ``(noisy, clean)`` or ``(images, labels)``).
    loss_fn : callable
        ``loss_fn(model, *batch)`` returns the scalar loss to minimise.
    epochs, batch_size, lr : int, int, float
        Passes over the data, examples per step, learning rate of the default optimizer.
    optimizer : callable, optional
        ``optimizer(params)`` returns a torch optimizer; default Adam with ``lr``.
    scheduler : callable, optional
        ``scheduler(optimizer)`` returns a learning-rate scheduler stepped once per epoch.
    seed : int
        Seeds the shuffling (and nothing else: seed the model's initialisation before building it).

    Returns
    -------
    dict
        ``{"train": [...], "test": [...]}``: mean loss per epoch (``train`` is measured during the
        epoch, ``test`` after it).
    """
    dev = device or default_device()
    model.to(dev)
    tensors = _as_tuple(train)
    n = len(tensors[0])
    opt = optimizer(model.parameters()) if optimizer else torch.optim.Adam(model.parameters(), lr=lr)
    sched = scheduler(opt) if scheduler else None
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"train": [], "test": []}
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            batch = [t[idx].to(dev) for t in tensors]
            loss = loss_fn(model, *batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        if sched is not None:
            sched.step()
        history["train"].append(total / n)
        if test is not None:
            history["test"].append(evaluate(model, test, loss_fn))
        bar.set_postfix(train=f"{history['train'][-1]:.4g}", **({"test": f"{history['test'][-1]:.4g}"} if test is not None else {}))
    model.eval()
    return history


def save(model: nn.Module, path) -> None:
    """Save a model's weights (its state dict) with ``torch.save``."""
    torch.save(model.state_dict(), path)


def load(model: nn.Module, path, device: torch.device | None = None) -> nn.Module:
    """Load weights saved by :func:`save` into ``model`` (safely: ``weights_only=True``)."""
    state = torch.load(path, map_location=device or "cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()
