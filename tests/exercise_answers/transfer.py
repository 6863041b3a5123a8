"""Plausible wrong answers to the exercises of chapter 01_transfer_learning."""

import torch
from torch import nn
from torch.nn import functional as F


def _train(net, params, x, y, steps=100, lr=1e-2):
    params = [p for p in params if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=lr) if params else None
    for _ in range(steps if optimiser else 0):
        loss = F.cross_entropy(net(x), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return net.eval()


def _head_not_frozen(model, x, y, n_classes):
    model.head = nn.Linear(model.head.in_features, n_classes)
    return _train(model, model.parameters(), x, y)


def _head_everything_frozen(model, x, y, n_classes):
    model.head = nn.Linear(model.head.in_features, n_classes)
    model.requires_grad_(False)
    return _train(model, model.parameters(), x, y)


def _head_not_trained(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, n_classes)
    return model.eval()


def _head_kept_old(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    return _train(model, model.head.parameters(), x, y)


def _head_typed_size(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    model.head = nn.Linear(64, n_classes)  # the chapter's network, not the one given
    return _train(model, model.head.parameters(), x, y)


def _block2_net(model, n_classes, x):
    body = nn.Sequential(model.blocks[0], model.blocks[1], nn.Flatten())
    with torch.no_grad():
        width = body(x[:1]).shape[1]
    return nn.Sequential(body, nn.Linear(width, n_classes))


def _block2_on_penultimate(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, n_classes)
    return _train(model, model.head.parameters(), x, y)


def _block2_not_frozen(model, x, y, n_classes):
    net = _block2_net(model, n_classes, x)
    return _train(net, net.parameters(), x, y)


def _block2_not_trained(model, x, y, n_classes):
    net = _block2_net(model, n_classes, x)
    net.requires_grad_(False)
    return net.eval()


def _block2_no_flatten(model, x, y, n_classes):
    net = nn.Sequential(model.blocks[0], model.blocks[1], nn.Linear(7, n_classes))
    model.blocks.requires_grad_(False)
    return _train(net, net.parameters(), x, y)


WRONG_ANSWERS = {
    "transfer-head": [
        ("forgot to freeze the blocks", _head_not_frozen),
        ("froze everything, the new head too", _head_everything_frozen),
        ("replaced the head but did not train it", _head_not_trained),
        ("trained the old task-A head instead of a new one", _head_kept_old),
        ("typed the chapter network's width for the head", _head_typed_size),
    ],
    "transfer-block2": [
        ("kept the penultimate layer (a head on frozen blocks 1-3)", _block2_on_penultimate),
        ("forgot to freeze blocks 1 and 2", _block2_not_frozen),
        ("built the network but did not train it", _block2_not_trained),
        ("forgot to flatten block 2's output", _block2_no_flatten),
    ],
    "transfer-two-speeds": [
        ("one learning rate for everything", lambda model, lr: torch.optim.Adam(model.parameters(), lr=lr)),
        ("swapped: head slow, blocks fast", lambda model, lr: torch.optim.Adam(
            [{"params": model.blocks.parameters(), "lr": lr}, {"params": model.head.parameters(), "lr": lr / 10}])),
        ("left the blocks out of the optimiser", lambda model, lr: torch.optim.Adam(model.head.parameters(), lr=lr)),
        ("typed the slow rate instead of lr / 10", lambda model, lr: torch.optim.Adam(
            [{"params": model.blocks.parameters(), "lr": 1e-3}, {"params": model.head.parameters(), "lr": lr}])),
    ],
}


def _probe_scores(blocks, x, y, x_val, y_val, ks, on_validation=True):
    from sklearn.linear_model import LogisticRegression

    scores = []
    for k in ks:
        cut = nn.Sequential(*blocks[:k], nn.Flatten()).eval()
        with torch.no_grad():
            f, f_val = cut(x).numpy(), cut(x_val).numpy()
        probe = LogisticRegression(max_iter=2000).fit(f, y.numpy())
        scores.append(probe.score(f_val, y_val.numpy()) if on_validation else probe.score(f, y.numpy()))
    return scores


def _layer_on_training_digits(blocks, x, y, x_val, y_val):
    scores = _probe_scores(blocks, x, y, x_val, y_val, range(len(blocks) + 1), on_validation=False)
    return max(range(len(scores)), key=scores.__getitem__)


def _layer_off_by_one(blocks, x, y, x_val, y_val):
    scores = _probe_scores(blocks, x, y, x_val, y_val, range(1, len(blocks) + 1))
    return max(range(len(scores)), key=scores.__getitem__)  # 0 meant block 1


def _layer_with_gradients(blocks, x, y, x_val, y_val):
    from sklearn.linear_model import LogisticRegression

    scores = []
    for k in range(len(blocks) + 1):
        cut = nn.Sequential(*blocks[:k], nn.Flatten())
        probe = LogisticRegression(max_iter=2000).fit(cut(x).numpy(), y.numpy())
        scores.append(probe.score(cut(x_val).numpy(), y_val.numpy()))
    return max(range(len(scores)), key=scores.__getitem__)


WRONG_ANSWERS["transfer-choose-layer"] = [
    ("always the deepest layer", lambda blocks, x, y, x_val, y_val: len(blocks)),
    ("always block 2, the chapter's answer", lambda blocks, x, y, x_val, y_val: 2),
    ("scored each probe on the labelled digits it was fitted to", _layer_on_training_digits),
    ("off by one: 0 meant block 1", _layer_off_by_one),
    ("features that still carry gradients", _layer_with_gradients),
    ("returned the layer's name", lambda blocks, x, y, x_val, y_val: "block 2"),
]
