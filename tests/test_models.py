"""The ready-made models against PyTorch twins built from the same code: same outputs and
gradients with weights copied through ``state_dict``."""

from __future__ import annotations

import numpy as np
import pytest

import stirpile
from stirpile import models


def _twin(torch, ours, build):
    theirs = build().double()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in
                            ours.state_dict().items()})  # fmt: skip
    return theirs


def _same(torch, close, ours, theirs, x):
    xs = stirpile.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, tout = ours(xs), theirs(xt)
    close(out, tout, rtol=1e-9, atol=1e-9)
    g = np.random.default_rng(1).standard_normal(tuple(tout.shape))
    out.backward(stirpile.tensor(g))
    tout.backward(torch.tensor(g))
    close(xs.grad, xt.grad, rtol=1e-9, atol=1e-9)
    tp = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, tp[name].grad, rtol=1e-9, atol=1e-9)


def test_lenet5_matches_pytorch_twin(torch, close):
    stirpile.manual_seed(0)
    ours = models.lenet5().to(stirpile.float64)
    nn = torch.nn

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))  # fmt: skip
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10))  # fmt: skip

        def forward(self, x):
            return self.classifier(self.features(x))

    theirs = _twin(torch, ours, LeNet5)
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    _same(torch, close, ours, theirs, x)
    # a flat batch is read as images
    flat = stirpile.tensor(x.reshape(3, 784))
    close(ours(flat), theirs(torch.tensor(x)), rtol=1e-9, atol=1e-9)


def test_lenet5_sizes_and_errors():
    assert sum(p.numel() for p in models.lenet5().parameters()) == 61706
    assert models.lenet5(num_classes=4, in_channels=3, image_size=32)(
        stirpile.zeros(2, 3, 32, 32)).shape == (2, 4)  # fmt: skip
    with pytest.raises(ValueError, match="too small"):
        models.lenet5(image_size=8)
    with pytest.raises(ValueError, match="unknown activation"):
        models.lenet5(activation="swish!")


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_sequence_classifier_matches_pytorch_twin(torch, close, cell):
    stirpile.manual_seed(0)
    ours = models.SequenceClassifier(7, 9, 4, num_layers=2, cell=cell).to(stirpile.float64)
    nn = torch.nn
    kinds = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = kinds[cell](7, 9, 2, batch_first=True)
            self.head = nn.Linear(9, 4)

        def forward(self, x):
            return self.head(self.rnn(x)[0][:, -1])

    theirs = _twin(torch, ours, Twin)
    _same(torch, close, ours, theirs, np.random.default_rng(0).standard_normal((3, 5, 7)))
    with pytest.raises(ValueError, match="cell must be"):
        models.SequenceClassifier(7, 9, 4, cell="lstm2")
