"""One training loop for every chapter (mini-batches, a progress bar, a loss history), batched
inference (:func:`predict`) and the one way to save and load model weights.

The loss is a function ``loss_fn(model, *batch) -> scalar tensor`` so the same loop trains an
autoencoder (batch = images), a denoising autoencoder (batch = noisy, clean) or a classifier
(batch = images, labels). Given the seed, the history is the same on every run.
"""

from __future__ import annotations

import math
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


def _as_tuple(data: torch.Tensor | Sequence[torch.Tensor], name: str = "data") -> tuple[torch.Tensor, ...]:
    """A tensor or a tuple of tensors as a tuple of tensors with as many examples each."""
    tensors = (data,) if isinstance(data, torch.Tensor) else tuple(data)
    if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
        raise ValueError(f"{name} must be a tensor or a tuple of tensors, got {type(data).__name__}")
    lengths = [len(t) if t.ndim else 0 for t in tensors]
    if lengths[0] == 0:
        raise ValueError(f"{name} holds no examples")
    if len(set(lengths)) > 1:
        raise ValueError(f"the tensors of {name} hold different numbers of examples: {lengths}")
    return tensors


def evaluate(model: nn.Module, data, loss_fn: LossFn = reconstruction_loss, batch_size: int = 1000) -> float:
    """The mean of ``loss_fn`` over ``data`` (weighted by batch size), in eval mode.

    ``data`` is a tensor or a tuple of tensors, as for :func:`fit`; the model stays on its device
    and comes back in the mode (train or eval) it was in.
    """
    tensors = _as_tuple(data)
    weighted = predict(model, tensors, batch_size,
                       fn=lambda m, *batch: (loss_fn(m, *batch).double() * len(batch[0])).reshape(1))
    return weighted.sum().item() / len(tensors[0])


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
    device : torch.device, optional
        Where to train; default :func:`autoencoders.device` (the GPU when present).
    progress : bool
        Show a tqdm bar over the epochs with the latest train (and test) loss.
    desc : str
        Label of the progress bar.

    Returns
    -------
    dict
        ``{"train": [...], "test": [...]}``: mean loss per epoch (``train`` is measured during the
        epoch, ``test`` after it).
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1, got epochs={epochs}, batch_size={batch_size}")
    tensors = _as_tuple(train, "train")
    if test is not None:
        test = _as_tuple(test, "test")
        if len(test) != len(tensors):
            raise ValueError(f"train has {len(tensors)} tensors per batch but test has {len(test)}")
    dev = device or default_device()
    model.to(dev)
    n = len(tensors[0])
    opt = optimizer(model.parameters()) if optimizer else torch.optim.Adam(model.parameters(), lr=lr)
    sched = scheduler(opt) if scheduler else None
    generator = torch.Generator().manual_seed(seed)
    history: dict[str, list[float]] = {"train": [], "test": []}
    bar = tqdm(range(epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            batch = [t[idx].to(dev) for t in tensors]
            loss = loss_fn(model, *batch)
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"the training loss became {value} in epoch {epoch + 1}; lower the learning rate (lr={lr}) "
                    "or check the data for NaN"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += value * len(idx)
        if sched is not None:
            sched.step()
        history["train"].append(total / n)
        if test is not None:
            history["test"].append(evaluate(model, test, loss_fn))
        bar.set_postfix({name: f"{values[-1]:.4g}" for name, values in history.items() if values})
    model.eval()
    return history


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 512, *, fn: Callable | None = None):
    """``model(x)`` in eval mode, batch by batch, without gradients; the result on the CPU.

    Inference is where a chapter goes wrong quietly: in train mode dropout and batch norm change
    the output, with gradients on the memory grows with every batch, and on a GPU each batch must
    move to the model's device. This helper does all three once: it moves each batch to the
    model's device, concatenates the outputs on the CPU and leaves the model in the mode (train or
    eval) it was in.

    ``x`` is a tensor, or a tuple of tensors batched together (``model(*batch)``). ``fn(model,
    *batch)`` replaces ``model(*batch)`` when another output is wanted (e.g.
    ``fn=lambda m, b: m.features(b)``); when it returns a tuple of tensors, so does ``predict``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    tensors = _as_tuple(x, "x")
    parameter = next(model.parameters(), None)
    dev = parameter.device if parameter is not None else torch.device("cpu")
    call = fn or (lambda m, *batch: m(*batch))
    was_training = model.training
    model.eval()
    try:
        outputs = [
            call(model, *(t[start:start + batch_size].to(dev) for t in tensors))
            for start in range(0, len(tensors[0]), batch_size)
        ]
    finally:
        model.train(was_training)
    if isinstance(outputs[0], torch.Tensor):
        return torch.cat([out.cpu() for out in outputs])
    return tuple(torch.cat([out[k].cpu() for out in outputs]) for k in range(len(outputs[0])))


def save(model: nn.Module, path, dtype: torch.dtype | None = None) -> None:
    """Save a model's weights (its state dict) with ``torch.save``; the folder must exist.

    Only the weights are stored, so :func:`load` can read them back safely with
    ``weights_only=True`` into a model built with the same arguments. ``dtype`` (e.g.
    ``torch.float16``, half the file size) converts the floating-point weights; :func:`load`
    converts them back to the model's dtype.
    """
    state = {
        name: value.detach().cpu().to(dtype) if dtype is not None and value.is_floating_point() else value
        for name, value in model.state_dict().items()
    }
    torch.save(state, path)


def load(model: nn.Module, path, device: torch.device | None = None) -> nn.Module:
    """Load weights saved by :func:`save` into ``model`` (safely: ``weights_only=True``).

    The weights go to ``device`` (default: the device the model is on); the model is returned in
    eval mode. A model built with other arguments than the saved one fails with torch's message
    listing the missing and unexpected weights.
    """
    dev = device or next(model.parameters()).device
    state = torch.load(path, map_location=dev, weights_only=True)
    model.load_state_dict(state)
    return model.to(dev).eval()
