"""Checks of the exercises of chapter 01, transfer learning.

The two fine-tuning exercises get a small network trained on the digits 0-4 (trained once, on
first use, in about two seconds of one CPU core) and a new task with few labels: the digits 5-8,
or 7-9, from ten labelled examples of each. The checks measure what the student's network does on
held-out digits of the new task, and whether the pretrained blocks kept their weights; how the
network was built (which flags it carries after training) is not judged.

The layer-choice check gets a wider network, trained with augmentation on 1,500 digits 0-4 (about
three seconds, once), and two tasks: the digits 5-8, far from what the network learned, and
unseen digits 0-4, its own task. A student's choice of layer is judged by what a linear probe on
that layer does on held-out digits, compared with the layer the validation digits favour.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import torch
from torch import nn

from autoencoders.data import mnist_tensors
from autoencoders.exercises.core import WrongAnswer, call, exercise
from autoencoders.models import SmallCNN
from autoencoders.training import classification_loss, fit, predict
from autoencoders.transfer import (TASK_A, augmented_classification_loss, draw_per_class, linear_probe,
                                   select_classes)

CHAPTER = "01_transfer_learning"

#: The new tasks of the fine-tuning checks (digits the pretrained network has never seen).
NEW_TASKS = ((5, 6, 7, 8), (7, 8, 9))
#: Labelled training examples per class of a new task.
N_PER_CLASS = 10
#: Held-out accuracy a new head on the frozen blocks must reach (chance is 1 / classes).
HEAD_TARGET = 0.50
#: The training the statement of ``transfer-head`` gives: full-batch Adam steps and their rate.
#: With it the reference clears HEAD_TARGET on both tasks by more than 14 points, for every seed
#: from 0 to 9 (the check uses seed 0).
HEAD_STEPS = 100
HEAD_LR = 1e-2
#: Held-out accuracy a new head on the frozen block 2 must reach.
BLOCK2_TARGET = 0.80


def _trained_network(n_train: int, loss_fn, epochs: int, **shape) -> SmallCNN:
    """A SmallCNN trained (seeded, on the CPU) on the first ``n_train`` training digits of task A."""
    x, y = mnist_tensors("train")
    xa, ya = select_classes(x, y, TASK_A)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = SmallCNN(n_classes=len(TASK_A), **shape)
        fit(net, (xa[:n_train], ya[:n_train]), loss_fn=loss_fn, epochs=epochs, batch_size=64,
            lr=3e-3, seed=0, device=torch.device("cpu"), progress=False)
    return net.eval()


@functools.cache
def _pretrained() -> SmallCNN:
    """A narrow SmallCNN trained on 1,000 digits 0-4 for 3 epochs (about 90% test accuracy)."""
    return _trained_network(1000, classification_loss, epochs=3, channels=(8, 16), hidden=32)


@functools.cache
def _task(classes: tuple[int, ...]) -> tuple[torch.Tensor, ...]:
    """Ten labelled training digits of each class (labels 0, 1, ...) and every test digit of them."""
    x, y = mnist_tensors("train")
    x_test, y_test = mnist_tensors("test")
    xb, yb = select_classes(x, y, classes)
    idx = torch.as_tensor(draw_per_class(yb.numpy(), N_PER_CLASS, np.random.default_rng(0)))
    return (xb[idx], yb[idx], *select_classes(x_test, y_test, classes))


def _run(answer, classes: tuple[int, ...]) -> tuple[nn.Module, SmallCNN, float]:
    """Call ``answer(model, x, y, n_classes)`` on a copy of the pretrained network.

    Returns the network it returned, the copy it was given, and the network's held-out accuracy
    (after checking that it gives one score per class).
    """
    x, y, x_test, y_test = _task(classes)
    given = copy.deepcopy(_pretrained())
    with torch.random.fork_rng():
        torch.manual_seed(0)
        net = call(answer, given, x.clone(), y.clone(), len(classes))
    if not isinstance(net, nn.Module):
        raise WrongAnswer(f"return the trained network (an nn.Module), got {type(net).__name__}")
    try:
        scores = predict(net, x_test[:2])
    except Exception as err:  # noqa: BLE001 - shown to the student as what went wrong
        raise WrongAnswer(f"your network could not classify a batch of digits (n, 1, 28, 28): "
                          f"{type(err).__name__}: {err}. Compute layer sizes from the model "
                          "(e.g. model.head.in_features), do not type them: the check's network is "
                          "narrower than the chapter's.") from None
    if tuple(scores.shape) != (2, len(classes)):
        raise WrongAnswer(f"for 2 digits of a {len(classes)}-class task your network returns scores of shape "
                          f"{tuple(scores.shape)}, expected (2, {len(classes)}). The old head has one output per "
                          "class of task A: replace it by nn.Linear(in_features, n_classes).")
    accuracy = float((predict(net, x_test).argmax(1) == y_test).double().mean())
    return net, given, accuracy


def _changed_blocks(net: nn.Module, blocks: list[nn.Module]) -> list[int]:
    """Which of the pretrained ``blocks`` (numbered from 1) have no unchanged copy in ``net``."""
    kept = [p.detach().cpu() for p in net.parameters()]
    changed = []
    for number, block in enumerate(blocks, 1):
        for p in block.parameters():
            if not any(q.shape == p.shape and torch.equal(q, p) for q in kept):
                changed.append(number)
                break
    return changed


def _frozen_head(net: nn.Module, pretrained: SmallCNN) -> bool:
    """True when no parameter outside the pretrained blocks can be trained (a symptom to report
    when the network is not accurate; a head frozen after training is fine)."""
    block_params = [p for p in pretrained.blocks.parameters()]
    others = [p for p in net.parameters()
              if not any(p.shape == b.shape and torch.equal(p.detach().cpu(), b) for b in block_params)]
    return bool(others) and not any(p.requires_grad for p in others)


def _too_low(accuracy: float, target: float, classes: tuple[int, ...], advice: str) -> WrongAnswer:
    return WrongAnswer(
        f"on the held-out digits {', '.join(map(str, classes))} your network is right {accuracy:.1%} of the "
        f"time; the check needs at least {target:.0%} (chance is {1 / len(classes):.0%}). {advice}")


@exercise("transfer-head", title="A new head on frozen blocks", chapter=CHAPTER)
def _check_head(train_new_head):
    pretrained = _pretrained()
    for classes in NEW_TASKS:
        net, _, accuracy = _run(train_new_head, classes)
        changed = _changed_blocks(net, list(pretrained.blocks))
        if changed:
            raise WrongAnswer(f"block {changed[0]} of the pretrained network changed while you trained: freeze "
                              "every block (block.requires_grad_(False)) before you build the optimiser, so "
                              "that only the new head learns.")
        if accuracy < HEAD_TARGET:
            if _frozen_head(net, pretrained):
                advice = ("Every parameter of the network you returned has requires_grad False, the new "
                          "head's too: a head frozen before training cannot learn. Freeze model.blocks "
                          "only.")
            else:
                advice = ("Is the new head trained (a loop of loss.backward() and optimiser.step() over "
                          f"the labelled digits)? The statement's {HEAD_STEPS} full-batch steps of Adam at "
                          f"lr={HEAD_LR:g} are enough.")
            raise _too_low(accuracy, HEAD_TARGET, classes, advice)


@exercise("transfer-block2", title="A new head on block 2", chapter=CHAPTER)
def _check_block2(head_on_block2):
    pretrained = _pretrained()
    for classes in NEW_TASKS:
        net, _, accuracy = _run(head_on_block2, classes)
        changed = _changed_blocks(net, list(pretrained.blocks[:2]))
        if changed:
            raise WrongAnswer(f"block {changed[0]} of the pretrained network changed while you trained: freeze "
                              "blocks 1 and 2 (requires_grad_(False)), so that only the new layer learns.")
        if accuracy < BLOCK2_TARGET:
            uses_penultimate = not _changed_blocks(net, [pretrained.blocks[2]])
            if uses_penultimate:
                advice = ("Your network still contains the penultimate layer, which specialised in the "
                          "digits 0-4: put the new linear layer directly on the flattened output of block 2.")
            elif _frozen_head(net, pretrained):
                advice = ("Every parameter of the network you returned has requires_grad False, the new "
                          "layer's too: a layer frozen before training cannot learn. Freeze the two "
                          "pretrained blocks only.")
            else:
                advice = ("Is the new layer trained (loss.backward() and optimiser.step(), for enough "
                          f"steps: {HEAD_STEPS} full-batch steps of Adam at lr={HEAD_LR:g} are enough)?")
            raise _too_low(accuracy, BLOCK2_TARGET, classes, advice)


@exercise("transfer-two-speeds", title="A slower learning rate for pretrained blocks", chapter=CHAPTER)
def _check_two_speeds(two_speed_adam):
    for channels, lr in (((16, 32), 1e-2), ((8, 16), 3e-3)):
        torch.manual_seed(0)
        model = SmallCNN(n_classes=5, channels=channels, hidden=32)
        before = [p.detach().clone() for p in model.parameters()]
        optimiser = call(two_speed_adam, model, lr)
        if not isinstance(optimiser, torch.optim.Optimizer):
            raise WrongAnswer(f"return a torch optimiser (torch.optim.Adam(...)), got {type(optimiser).__name__}")
        generator = torch.Generator().manual_seed(1)
        for p in model.parameters():  # gradients of size 1 and random sign: a first step of size lr
            p.grad = torch.randint(0, 2, p.shape, generator=generator).float() * 2 - 1
        optimiser.step()
        steps = {id(p): float((p.detach() - b).abs().mean()) for p, b in zip(model.parameters(), before)}
        parts = {f"block {i}": list(block.parameters()) for i, block in enumerate(model.blocks, 1)}
        parts["the head"] = list(model.head.parameters())
        for part, params in parts.items():
            expected = lr if part == "the head" else lr / 10
            got = float(np.mean([steps[id(p)] for p in params]))
            if got == 0:
                raise WrongAnswer(f"the parameters of {part} did not move in a step: put every parameter of "
                                  "the model in the optimiser (blocks slowly, the head at lr).")
            if not 0.8 * expected <= got <= 1.25 * expected:
                raise WrongAnswer(f"with lr={lr:g}, one Adam step moved {part} by {got:.2g} per weight, "
                                  f"expected about {expected:.2g}: the head learns at lr, every block at lr / 10 "
                                  "(two parameter groups, each with its own 'lr').")


#: The layer-choice check: its network is trained on this many digits 0-4 (the rest stay unseen).
LAYER_PRETRAIN = 1500
#: The tasks of the layer-choice check: (description, digits, labelled digits per class).
LAYER_TASKS = (("the digits 5-8", (5, 6, 7, 8), 5),
               ("unseen digits 0-4, the network's own task", (0, 1, 2, 3, 4), 2))
assert LAYER_TASKS[1][1] == TASK_A, "the second task of the layer-choice check is task A"
#: Validation digits per class the layer-choice check gives the student's function.
LAYER_N_VAL = 50
#: How far (accuracy) below the validation-best layer a chosen layer may be on held-out digits.
LAYER_TOLERANCE = 0.08


def _layer_name(k: int, n_blocks: int) -> str:
    return "raw pixels" if k == 0 else "the penultimate layer" if k == n_blocks else f"block {k}"


@functools.cache
def _layer_network() -> SmallCNN:
    """A SmallCNN trained with augmentation on the first 1,500 digits 0-4 (about 99% test accuracy)."""
    return _trained_network(LAYER_PRETRAIN, augmented_classification_loss, epochs=6)


@functools.cache
def _layer_task(classes: tuple[int, ...], n: int) -> tuple:
    """Labelled, validation and test digits of a task (none used to train the network), and the
    validation and test accuracies of a linear probe after every number of blocks k."""
    x, y = mnist_tensors("train")
    x_test, y_test = mnist_tensors("test")
    task_a_positions = torch.nonzero(torch.isin(y, torch.tensor(TASK_A))).flatten()
    unseen = torch.ones(len(y), dtype=torch.bool)
    unseen[task_a_positions[:LAYER_PRETRAIN]] = False
    xb, yb = select_classes(x[unseen], y[unseen], classes)
    rng = np.random.default_rng(sum(classes) + n)
    labelled = draw_per_class(yb.numpy(), n, rng)
    rest = np.setdiff1d(np.arange(len(yb)), labelled)
    val = rest[draw_per_class(yb.numpy()[rest], LAYER_N_VAL, rng)]
    x_test, y_test = select_classes(x_test, y_test, classes)
    splits = [(xb[labelled], yb[labelled]), (xb[val], yb[val]), (x_test, y_test)]
    blocks = _layer_network().blocks
    val_accuracy, test_accuracy = [], []
    for k in range(len(blocks) + 1):
        cut = nn.Sequential(*blocks[:k], nn.Flatten())
        (f_lab, y_lab), (f_val, y_val), (f_test, y_te) = [
            (predict(cut, xs).double().numpy(), ys.numpy()) for xs, ys in splits]
        scores = linear_probe(f_lab, y_lab, [f_val, f_test], [y_val, y_te])
        val_accuracy.append(scores[0])
        test_accuracy.append(scores[1])
    return (*splits[0], *splits[1], np.array(val_accuracy), np.array(test_accuracy))


@exercise("transfer-choose-layer", title="Which layer for which task?", chapter=CHAPTER)
def _check_choose_layer(choose_layer):
    n_blocks = len(_layer_network().blocks)
    for description, classes, n in LAYER_TASKS:
        x, y, x_val, y_val, val_accuracy, test_accuracy = _layer_task(classes, n)
        blocks = copy.deepcopy(_layer_network().blocks)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            k = call(choose_layer, blocks, x.clone(), y.clone(), x_val.clone(), y_val.clone())
        if isinstance(k, torch.Tensor) and k.numel() == 1:
            k = k.item()
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n_blocks:
            raise WrongAnswer(f"return the number of blocks k the digits go through, an int from 0 (raw "
                              f"pixels) to len(blocks) = {n_blocks} (the penultimate layer); got {k!r}.")
        k, best = int(k), int(np.argmax(val_accuracy))
        if test_accuracy[k] >= test_accuracy[best] - LAYER_TOLERANCE:
            continue
        names = [_layer_name(j, n_blocks) for j in range(n_blocks + 1)]
        measured = ", ".join(f"{name} {acc:.0%}" for name, acc in zip(names, val_accuracy))
        if k == n_blocks:
            advice = ("The deepest layer is not always the best: it specialised in the task the network "
                      "was trained on. Compare the layers on the validation digits.")
        elif k == 0:
            advice = ("If every layer seemed equally good, you may have scored the probes on the labelled "
                      "digits they were fitted to: with a few examples per class a probe fits them all. "
                      "Score each probe on (x_val, y_val).")
        else:
            advice = "Choose the k whose probe scores best on (x_val, y_val), for every task anew."
        if k + 1 == best:
            advice += (" If your code did compare the layers, is k off by one? It counts the blocks the "
                       f"digits go through: 0 is the raw pixels, 1 the output of block 1, ..., {n_blocks} "
                       "the penultimate layer.")
        raise WrongAnswer(
            f"for {description}, with {n} labelled digits per class, you chose k = {k} ({names[k]}). "
            f"A probe on it classifies {test_accuracy[k]:.1%} of the held-out digits; a probe on "
            f"{names[best]}, the layer the validation digits favour, {test_accuracy[best]:.1%} (the check "
            f"accepts {test_accuracy[best] - LAYER_TOLERANCE:.1%} or more), raw pixels "
            f"{test_accuracy[0]:.1%}. Validation accuracy of the check's probes: {measured}. {advice}")


def layer_accuracies() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For each task of the layer-choice check, the validation and the test accuracy of a linear
    probe after every number of blocks k (0: raw pixels), as the check measures them.

    The chapter quotes them after the exercise; they are computed (and cached) on first use.
    """
    out = {}
    for description, classes, m in LAYER_TASKS:
        *_, val_accuracy, test_accuracy = _layer_task(classes, m)
        out[description] = (val_accuracy, test_accuracy)
    return out
