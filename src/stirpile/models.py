"""Ready-made models: the multilayer perceptron of the course,
``N(x) = W_k σ(⋯ σ(W_2 σ(W_1 x + b_1) + b_2) ⋯) + b_k``, LeNet-5 (convolutional) and a
recurrent sequence classifier.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from . import nn
from .tensor import Tensor

ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "softplus": nn.Softplus,
    "prelu": nn.PReLU,
    "rrelu": nn.RReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "none": nn.Identity,
}


def mlp(
    sizes: Sequence[int],
    activation: str = "relu",
    dropout: float = 0.0,
    batchnorm: bool = False,
) -> nn.Sequential:
    """An MLP with layer widths ``sizes`` (input, hidden…, output), returning logits.

    Each hidden layer is ``Linear → [BatchNorm1d] → activation → [Dropout]``.

    >>> mlp([784, 128, 10])
    Sequential(
      (0): Linear(in_features=784, out_features=128, bias=True)
      (1): ReLU()
      (2): Linear(in_features=128, out_features=10, bias=True)
    )
    """
    if len(sizes) < 2:
        raise ValueError(f"mlp: need at least input and output sizes, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"mlp: unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
        )
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


class LeNet5(nn.Module):
    """LeNet-5 (LeCun et al. 1998) in its common modern form: two convolution + pooling
    stages, then three fully connected layers.

    ``features``: ``Conv2d(C, 6, 5, padding=2) → act → MaxPool2d(2) → Conv2d(6, 16, 5) →
    act → MaxPool2d(2)``; ``classifier``: ``Flatten → Linear(16·s·s, 120) → act →
    [Dropout] → Linear(120, 84) → act → [Dropout] → Linear(84, classes)``, with
    ``s = (image_size/2 − 4)/2`` (5 for 28×28 MNIST: the original's 32×32 input is
    MNIST padded by 2, which ``padding=2`` does). The original used tanh and average
    pooling; ReLU and max pooling train faster and are the default here.

    Input ``(N, C, H, W)``, or flat ``(N, C·H·W)`` (reshaped: what the MLP pipelines
    feed); output ``(N, classes)`` logits.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
                 activation: str = "relu", dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        s = (image_size // 2 - 4) // 2
        if s < 1:
            raise ValueError(f"lenet5: images of {image_size}x{image_size} are too small "
                             "(LeNet-5 needs at least 12x12)")  # fmt: skip
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"lenet5: unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        act = ACTIVATIONS[activation]
        self.in_channels, self.image_size = in_channels, image_size
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), act(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), act(), nn.MaxPool2d(2),
        )  # fmt: skip
        drop = [nn.Dropout(dropout)] if dropout > 0 else []
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * s * s, 120), act(), *drop,
            nn.Linear(120, 84), act(), *drop, nn.Linear(84, num_classes),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.reshape(x.shape[0], self.in_channels, self.image_size, self.image_size)
        return self.classifier(self.features(x))


def lenet5(num_classes: int = 10, in_channels: int = 1, image_size: int = 28,
           activation: str = "relu", dropout: float = 0.0) -> LeNet5:  # fmt: skip
    """LeNet-5 for ``image_size``×``image_size`` images (see :class:`LeNet5`).

    >>> import stirpile
    >>> model = lenet5()
    >>> sum(p.numel() for p in model.parameters())
    61706
    >>> model(stirpile.zeros(2, 784)).shape
    (2, 10)
    """
    return LeNet5(num_classes, in_channels, image_size, activation, dropout)


class SequenceClassifier(nn.Module):
    """A recurrent classifier: an LSTM (or GRU, or plain RNN) reads a sequence and a
    linear layer classifies its last hidden state.

    For images read row by row (MNIST: 28 steps of 28 pixels), a flat ``(N, T·F)``
    input is reshaped to ``(N, T, F)`` with ``F = input_size``.

    >>> import stirpile
    >>> model = SequenceClassifier(28, 128, 10)
    >>> model(stirpile.zeros(3, 784)).shape
    (3, 10)
    """

    def __init__(self, input_size: int, hidden_size: int, num_classes: int,
                 num_layers: int = 1, cell: str = "lstm",
                 dropout: float = 0.0) -> None:  # fmt: skip
        super().__init__()
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
        if cell not in kinds:
            raise ValueError(f"SequenceClassifier: cell must be one of {sorted(kinds)}, "
                             f"got {cell!r}")  # fmt: skip
        self.input_size = input_size
        self.rnn = kinds[cell](input_size, hidden_size, num_layers, batch_first=True,
                               dropout=dropout if num_layers > 1 else 0.0)  # fmt: skip
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 2:
            x = x.reshape(x.shape[0], -1, self.input_size)
        out, _ = self.rnn(x)
        return self.head(out[:, -1])
