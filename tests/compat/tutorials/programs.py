"""The tutorials set's manifest: where each program's source is, and how it is changed.

No program is stored in this repository (see ``README.md`` here): each entry names its
source (repository, commit, path, license), and ``../test_tutorials.py`` reads it at test
time from ``$STIRPILE_TUTORIALS`` and applies the entry's edits, in order:

- ``(old, new)``: ``old`` must start at the beginning of a line and be found there exactly
  once; it is replaced by ``new``.
- :class:`Cut`: delete whole lines, from the line starting with ``first`` through the line
  starting with ``last`` (through the end of the text when ``last`` is ``None``); each
  found exactly once.
- :class:`Append`: add ``text`` at the end.

An edit that does not match exactly once fails the program's tests, naming the program
and the edit: the source is not the text the edits were written for.

The edits are only of these kinds: imports (``torch`` → ``stirpile``; ``torchvision`` →
``localvision``, the local MNIST stand-in), data (local files instead of downloads),
fewer epochs or steps, printing (fewer lines; a notebook's displayed values printed),
and sections out of scope cut. For a notebook (``.ipynb``) the text is its code cells
in order, each after a ``# --- cell N`` line (N counts code cells from 1), without the
cells in ``skip_cells``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cut:
    """Delete the lines from the one starting with ``first`` through the one starting
    with ``last`` (through the end when ``last`` is ``None``)."""

    first: str
    last: str | None = None


@dataclass(frozen=True)
class Append:
    """Add ``text`` at the end of the program."""

    text: str


Edit = tuple[str, str] | Cut | Append


@dataclass(frozen=True)
class Program:
    """One program: ``path`` in ``repo`` at ``commit``, under ``license``; ``modules``
    are more files of the same commit, importable under the given names while it runs."""

    repo: str
    commit: str
    path: str
    license: str
    edits: tuple[Edit, ...] = ()
    modules: dict[str, str] = field(default_factory=dict)
    skip_cells: tuple[int, ...] = ()


# -- the import edits most programs share ----------------------------------------------
TORCH = ("import torch\n", "import stirpile as torch\n")
TORCH_NN = ("import torch.nn as nn\n", "import stirpile.nn as nn\n")
TORCH_F = ("import torch.nn.functional as F\n", "import stirpile.nn.functional as F\n")
FROM_NN = ("from torch import nn\n", "from stirpile import nn\n")
DATALOADER = (
    "from torch.utils.data import DataLoader\n",
    "from stirpile.utils.data import DataLoader\n",
)
DATA_AS = ("import torch.utils.data as Data\n", "import stirpile.utils.data as Data\n")
TORCHVISION = (
    ("import torchvision\n", "import localvision as torchvision\n"),
    (
        "import torchvision.transforms as transforms\n",
        "import localvision.transforms as transforms\n",
    ),
)

# -- the repositories --------------------------------------------------------------------
TUTORIALS, BSD3 = "pytorch/tutorials", "BSD-3-Clause"
YUNJEY = "yunjey/pytorch-tutorial"
YUNJEY_AT = "0500d3df5a2a8080ccfccbc00aca0eacc21818db"
MORVAN = "MorvanZhou/PyTorch-Tutorial"
MORVAN_AT = "dbe154a9e56635e51c6b0c2ccea8ae36cfb585a7"


def _tutorial(commit: str, path: str, *edits: Edit) -> Program:
    return Program(TUTORIALS, commit, f"beginner_source/{path}", BSD3, (TORCH, *edits))


def _yunjey(folder: str, *edits: Edit) -> Program:
    path = f"tutorials/01-basics/{folder}/main.py"
    return Program(YUNJEY, YUNJEY_AT, path, "MIT", (TORCH, TORCH_NN, *edits))


def _morvan(name: str, *edits: Edit) -> Program:
    return Program(MORVAN, MORVAN_AT, f"tutorial-contents/{name}.py", "MIT", (TORCH, *edits))


# the yunjey MNIST programs: local MNIST (5,000 training digits, 50 steps an epoch)
_YUNJEY_MNIST = (
    *TORCHVISION,
    ("num_epochs = 5\n", "num_epochs = 2\n"),
    ("        if (i+1) % 100 == 0:", "        if (i+1) % 10 == 0:"),
)

PROGRAMS: dict[str, Program] = {
    # pytorch/tutorials, "Learning PyTorch with Examples"
    "polynomial_tensor": _tutorial(
        "088bc52a76551211d2499b1cca69a677eba59236", "examples_tensor/polynomial_tensor.py"
    ),
    "polynomial_autograd": _tutorial(
        "92f11a171bb3f3f6bbd8dfb102c59d67c2385032", "examples_autograd/polynomial_autograd.py"
    ),
    "polynomial_custom_function": _tutorial(
        "02ed6c5cf613bbf2b631704eee62033b8bd746ef",
        "examples_autograd/polynomial_custom_function.py",
    ),
    "polynomial_nn": _tutorial(
        "02d7694195db7543ff85fd72177d1f1adca7784a", "examples_nn/polynomial_nn.py"
    ),
    "polynomial_optim": _tutorial(
        "02d7694195db7543ff85fd72177d1f1adca7784a", "examples_nn/polynomial_optim.py"
    ),
    "polynomial_module": _tutorial(
        "1d189709801e98f5f184af0567c7f06b8b5156c2", "examples_nn/polynomial_module.py"
    ),
    "dynamic_net": _tutorial(
        "1d189709801e98f5f184af0567c7f06b8b5156c2",
        "examples_nn/dynamic_net.py",
        ("for t in range(30000):", "for t in range(2000):"),  # still prints every 2000
    ),
    # the 2018-2020 edition (MyReLU): prints every step of 500, here every 25th
    "two_layer_net_custom_function": _tutorial(
        "4ba126213d3cfa9e10ecde3faaf3d93e9d9d02c1",
        "examples_autograd/two_layer_net_custom_function.py",
        ("    print(t, loss.item())\n", "    if t % 25 == 24:\n        print(t, loss.item())\n"),
    ),
    "two_layer_net_module": _tutorial(
        "8b59e4ba1635d41aa3674f2c45e5d52487d5468e", "examples_nn/two_layer_net_module.py"
    ),
    # pytorch/tutorials, "What is torch.nn really?": the data file is put where the program
    # looks for it (data/mnist/mnist.pkl.gz) so it downloads nothing; `requests` and the
    # IPython debugger (its only call is commented out) are not installed; the CNN and GPU
    # sections are out of MLP scope
    "nn_tutorial": _tutorial(
        "05e7ce2c19e72d482475d91d458db210cdacec38",
        "nn_tutorial.py",
        Cut("# You can use these basic 3 lines of code to train a wide variety of models."),
        ("import requests\n", ""),
        ("from IPython.core.debugger import set_trace\n", ""),
        TORCH_F,
        FROM_NN,
        ("from torch import optim\n", "from stirpile import optim\n"),
        (
            "from torch.utils.data import TensorDataset\n",
            "from stirpile.utils.data import TensorDataset\n",
        ),
        DATALOADER,
    ),
    # pytorch/tutorials, "Learn the Basics" (FashionMNIST: localvision reads MNIST digits)
    "quickstart": _tutorial(
        "07a339ece661a2b304b8834780470f522eed1e02",
        "basics/quickstart_tutorial.py",
        FROM_NN,
        DATALOADER,
        ("from torchvision import datasets\n", "from localvision import datasets\n"),
        (
            "from torchvision.transforms import ToTensor, Lambda, Compose\n",
            "from localvision.transforms import ToTensor, Lambda, Compose\n",
        ),
        ("epochs = 5\n", "epochs = 1\n"),
    ),
    "buildmodel": _tutorial(
        "07a339ece661a2b304b8834780470f522eed1e02",
        "basics/buildmodel_tutorial.py",
        FROM_NN,
        DATALOADER,
        (  # unused by the program
            "from torchvision import datasets, transforms\n",
            "from localvision import datasets, transforms\n",
        ),
    ),
    "optimization": _tutorial(
        "009a87b0ec0b432889e865e55d3ae9e3912c306e",
        "basics/optimization_tutorial.py",
        FROM_NN,
        DATALOADER,
        ("from torchvision import datasets\n", "from localvision import datasets\n"),
        (
            "from torchvision.transforms import ToTensor\n",
            "from localvision.transforms import ToTensor\n",
        ),
        ("epochs = 10\n", "epochs = 2\n"),
    ),
    "autogradqs": _tutorial(
        "1532c0de875b79f541371438d8d1d08be18f87de", "basics/autogradqs_tutorial.py"
    ),
    # pytorch/examples
    "examples_regression": Program(
        "pytorch/examples",
        "77f55b912142e11fcfdf5b530231fb9c52f181e8",
        "regression/main.py",
        BSD3,
        (TORCH, TORCH_F),
    ),
    # yunjey/pytorch-tutorial
    "yunjey_linear_regression": _yunjey("linear_regression"),
    "yunjey_logistic_regression": _yunjey("logistic_regression", *_YUNJEY_MNIST),
    "yunjey_feedforward": _yunjey("feedforward_neural_network", *_YUNJEY_MNIST),
    # karpathy/micrograd: micrograd's own tests, which check it against PyTorch; micrograd
    # is not installed, so its engine.py (same commit) is importable while they run
    "micrograd_test_engine": Program(
        "karpathy/micrograd",
        "c911406e5ace8742e5841a7e0df113ecb5d54685",
        "test/test_engine.py",
        "MIT",
        (TORCH, Append("\ntest_sanity_check()\ntest_more_ops()\n")),  # as pytest would
        modules={"micrograd.engine": "micrograd/engine.py"},
    ),
    # karpathy/nn-zero-to-hero, makemore part 2 (MLP). names.txt (from the makemore
    # repository, not this one) is replaced by a generated word list. Cells 8-20 (an
    # exploratory forward pass, run in the notebook against an earlier 5-word dataset;
    # it fails on a full one) are skipped; the values the notebook displays (a cell's
    # last bare expression) are printed.
    "makemore_mlp": Program(
        "karpathy/nn-zero-to-hero",
        "73c3fcc741f0ec104ca850b1fb0df90e7e8d4cde",
        "lectures/makemore/makemore_part2_mlp.ipynb",
        "MIT",
        (
            TORCH,
            TORCH_F,
            ("%matplotlib inline\n", ""),
            ("len(words)\n", "print(len(words))\n"),
            ("X.shape, X.dtype, Y.shape, Y.dtype\n", "print(X.shape, X.dtype, Y.shape, Y.dtype)\n"),
            (
                "sum(p.nelement() for p in parameters)",
                "print(sum(p.nelement() for p in parameters))",
            ),
            ("for i in range(200000):", "for i in range(100):"),
            (
                "loss = F.cross_entropy(logits, Ytr)\nloss\n",
                "loss = F.cross_entropy(logits, Ytr)\nprint(loss)\n",
            ),
            (
                "loss = F.cross_entropy(logits, Ydev)\nloss\n",
                "loss = F.cross_entropy(logits, Ydev)\nprint(loss)\n",
            ),
        ),
        skip_cells=tuple(range(8, 21)),
    ),
    # MorvanZhou/PyTorch-Tutorial
    "morvan_regression": _morvan("301_regression", TORCH_F),
    "morvan_classification": _morvan("302_classification", TORCH_F),
    "morvan_batch_train": _morvan("305_batch_train", DATA_AS),
    "morvan_optimizer": _morvan("306_optimizer", DATA_AS, TORCH_F, ("EPOCH = 12\n", "EPOCH = 3\n")),
    "morvan_dropout": _morvan("503_dropout", ("for t in range(500):", "for t in range(100):")),
}
