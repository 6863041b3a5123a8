"""Plausible wrong answers, and correct answers written differently from the reference, to the
exercises of chapter 01_transfer_learning."""

import numpy as np
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


def _head_too_few_steps(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, n_classes)
    return _train(model, model.head.parameters(), x, y, steps=3)


def _block2_frozen_before_training(model, x, y, n_classes):
    net = _block2_net(model, n_classes, x)
    net.requires_grad_(False)
    return _train(net, net.parameters(), x, y)


WRONG_ANSWERS = {
    "transfer-head": [
        ("forgot to freeze the blocks", _head_not_frozen),
        ("froze everything, the new head too", _head_everything_frozen),
        ("replaced the head but did not train it", _head_not_trained),
        ("trained the old task-A head instead of a new one", _head_kept_old),
        ("typed the chapter network's width for the head", _head_typed_size),
        ("trained the new head for 3 steps only", _head_too_few_steps),
    ],
    "transfer-block2": [
        ("kept the penultimate layer (a head on frozen blocks 1-3)", _block2_on_penultimate),
        ("forgot to freeze blocks 1 and 2", _block2_not_frozen),
        ("built the network but did not train it", _block2_not_trained),
        ("forgot to flatten block 2's output", _block2_no_flatten),
        ("froze the new layer too, before training", _block2_frozen_before_training),
    ],
    "transfer-two-speeds": [
        ("one learning rate for everything", lambda model, lr: torch.optim.Adam(model.parameters(), lr=lr)),
        ("swapped: head slow, blocks fast", lambda model, lr: torch.optim.Adam(
            [{"params": model.blocks.parameters(), "lr": lr}, {"params": model.head.parameters(), "lr": lr / 10}])),
        ("left the blocks out of the optimiser", lambda model, lr: torch.optim.Adam(model.head.parameters(), lr=lr)),
        ("typed the slow rate instead of lr / 10", lambda model, lr: torch.optim.Adam(
            [{"params": model.blocks.parameters(), "lr": 1e-3}, {"params": model.head.parameters(), "lr": lr}])),
        ("blocks at lr / 100", lambda model, lr: torch.optim.Adam(
            [{"params": model.blocks.parameters(), "lr": lr / 100}, {"params": model.head.parameters(), "lr": lr}])),
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


# --- correct answers written differently from the reference ------------------------------------


def _head_frozen_after_training(model, x, y, n_classes):
    model.blocks.requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, n_classes)
    _train(model, model.head.parameters(), x, y)
    return model.requires_grad_(False)  # frozen again once trained: a finished model


def _head_mini_batches(model, x, y, n_classes):
    for block in model.blocks:
        for p in block.parameters():
            p.requires_grad = False
    model.head = nn.Linear(model.head.in_features, n_classes)
    optimiser = torch.optim.Adam(model.head.parameters(), lr=1e-2)
    shuffle = torch.Generator().manual_seed(1)
    model.train()
    for _ in range(50):  # 50 epochs of mini-batches of 16
        for batch in torch.randperm(len(x), generator=shuffle).split(16):
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return model.eval()


def _head_from_sklearn(model, x, y, n_classes):
    from sklearn.linear_model import LogisticRegression

    model.blocks.requires_grad_(False)
    model.eval()
    with torch.no_grad():
        features = model.features(x)[-1].double().numpy()  # the penultimate layer's output
    probe = LogisticRegression(max_iter=2000).fit(features, y.numpy())
    model.head = nn.Linear(model.head.in_features, n_classes)
    with torch.no_grad():
        model.head.weight.copy_(torch.as_tensor(probe.coef_, dtype=torch.float32))
        model.head.bias.copy_(torch.as_tensor(probe.intercept_, dtype=torch.float32))
    return model


class _Block2Net(nn.Module):
    def __init__(self, model, n_classes, width):
        super().__init__()
        self.body = nn.Sequential(*model.blocks[:2])
        self.body.requires_grad_(False)
        self.out = nn.Linear(width, n_classes)

    def forward(self, x):
        return self.out(torch.flatten(self.body(x), 1))


def _block2_module_frozen_after(model, x, y, n_classes):
    conv = model.blocks[1][0]  # block 2's convolution: channels x 7 x 7 after its pooling
    net = _Block2Net(model, n_classes, conv.out_channels * 7 * 7)
    _train(net, net.out.parameters(), x, y, steps=150, lr=5e-3)
    return net.requires_grad_(False).eval()


def _block2_from_sklearn(model, x, y, n_classes):
    from sklearn.linear_model import LogisticRegression

    body = nn.Sequential(model.blocks[0], model.blocks[1], nn.Flatten()).eval()
    with torch.no_grad():
        features = body(x).numpy()
    probe = LogisticRegression(max_iter=3000).fit(features, y.numpy())
    head = nn.Linear(features.shape[1], n_classes)
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(probe.coef_, dtype=torch.float32))
        head.bias.copy_(torch.as_tensor(probe.intercept_, dtype=torch.float32))
    return nn.Sequential(body, head)


def _two_speeds_by_name(model, lr):
    head = [p for name, p in model.named_parameters() if name.startswith("head.")]
    rest = [p for name, p in model.named_parameters() if not name.startswith("head.")]
    return torch.optim.Adam([{"params": rest, "lr": lr / 10}, {"params": head, "lr": lr}])


def _two_speeds_default_rate(model, lr):
    # the slow rate as the optimiser's default, the head's group overrides it; AdamW without decay
    return torch.optim.AdamW([{"params": model.head.parameters(), "lr": lr},
                              {"params": model.blocks.parameters()}], lr=0.1 * lr, weight_decay=0.0)


def _layer_no_grad_last_tie(blocks, x, y, x_val, y_val):
    from sklearn.linear_model import LogisticRegression

    best_k, best_score = 0, -1.0
    for k in range(len(blocks) + 1):
        cut = nn.Sequential(*blocks[:k]).eval()
        with torch.no_grad():
            f, f_val = cut(x).flatten(1).numpy(), cut(x_val).flatten(1).numpy()
        score = LogisticRegression(max_iter=2000).fit(f, y.numpy()).score(f_val, y_val.numpy())
        if score >= best_score:  # ties go to the deeper layer
            best_k, best_score = k, score
    return best_k


def _layer_numpy_int(blocks, x, y, x_val, y_val):
    from sklearn.linear_model import LogisticRegression

    features, features_val = x.flatten(1), x_val.flatten(1)
    scores = []
    with torch.no_grad():
        h, h_val = x, x_val
        for k in range(len(blocks) + 1):  # go one block deeper each time
            if k:
                h, h_val = blocks[k - 1](h), blocks[k - 1](h_val)
                features, features_val = h.flatten(1), h_val.flatten(1)
            probe = LogisticRegression(max_iter=2000).fit(features.numpy(), y.numpy())
            scores.append(probe.score(features_val.numpy(), y_val.numpy()))
    return np.argmax(scores)  # a NumPy integer, not an int


CORRECT_ANSWERS = {
    "transfer-head": [
        ("froze the whole model again after training", _head_frozen_after_training),
        ("mini-batches of 16 for 50 epochs, blocks frozen parameter by parameter", _head_mini_batches),
        ("the head fitted by scikit-learn's logistic regression, weights copied in", _head_from_sklearn),
    ],
    "transfer-block2": [
        ("an nn.Module subclass, width from the conv's channels, frozen after training",
         _block2_module_frozen_after),
        ("the new layer fitted by scikit-learn's logistic regression", _block2_from_sklearn),
    ],
    "transfer-two-speeds": [
        ("groups picked by parameter name", _two_speeds_by_name),
        ("AdamW without decay, the slow rate as the default", _two_speeds_default_rate),
    ],
    "transfer-choose-layer": [
        ("a loop under torch.no_grad, ties to the deeper layer", _layer_no_grad_last_tie),
        ("features built block by block, a NumPy integer returned", _layer_numpy_int),
    ],
}
