"""stirpile.onnx.export: models run in onnxruntime match stirpile's outputs."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import stirpile
from stirpile import models, nn
from stirpile import onnx as sonnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def _ours(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with stirpile.no_grad():
        return model(stirpile.tensor(x)).numpy()


def _inputs(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _mnist_mlp() -> nn.Sequential:
    stirpile.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(784, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.2),
        nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10),
    )  # fmt: skip
    model.train()
    for seed in range(3):  # move the running statistics away from (0, 1)
        model(stirpile.tensor(_inputs((64, 1, 28, 28), seed) * 2 + 0.5))
    return model.eval()


def _check(model: nn.Module, x: np.ndarray, path, **kw) -> None:
    sonnx.export(model, stirpile.tensor(x[:2]), path, **kw)
    for n in (len(x), 3):  # two batch sizes: the batch dimension is symbolic
        np.testing.assert_allclose(_run(path, x[:n]), _ours(model, x[:n]), rtol=1e-5, atol=1e-5)


def test_mnist_mlp_matches_on_1000_inputs(tmp_path) -> None:
    _check(_mnist_mlp(), _inputs((1000, 1, 28, 28)), tmp_path / "mlp.onnx")


def test_lenet5_matches_on_1000_inputs(tmp_path) -> None:
    stirpile.manual_seed(0)
    model = models.lenet5(dropout=0.3).eval()
    _check(model, _inputs((1000, 1, 28, 28)), tmp_path / "lenet.onnx")
    # LeNet5 also takes flat (N, 784) rows: the export reshapes first
    _check(model, _inputs((1000, 784), 1), tmp_path / "lenet_flat.onnx")


def test_lenet5_on_mnist_test_images(tmp_path, mnist_dir) -> None:
    if not (mnist_dir / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST at {mnist_dir}")
    import gzip

    with gzip.open(mnist_dir / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    x = (images[:1000].astype(np.float32) / 255 - 0.1307) / 0.3081
    stirpile.manual_seed(1)
    _check(models.lenet5().eval(), x, tmp_path / "lenet_mnist.onnx")


def test_checker_opset_and_symbolic_batch(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    proto = sonnx.export(_mnist_mlp(), stirpile.tensor(_inputs((4, 1, 28, 28))), path,
                         input_names=("pixels",), output_names=("logits",))  # fmt: skip
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded == proto
    assert [o.version for o in loaded.opset_import if o.domain == ""] == [17]
    assert [i.name for i in loaded.graph.input] == ["pixels"]
    assert [o.name for o in loaded.graph.output] == ["logits"]
    dims = loaded.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [1, 28, 28]
    assert {n.op_type for n in loaded.graph.node} >= {"Gemm", "BatchNormalization", "Relu"}
    assert len(loaded.graph.initializer) == 3 * 2 + 2 * 4  # weights as initializers


def test_static_batch(tmp_path) -> None:
    path = tmp_path / "static.onnx"
    model = nn.Sequential(nn.Linear(5, 3), nn.Tanh())
    sonnx.export(model, stirpile.tensor(_inputs((4, 5))), path, dynamic_batch=False)
    dim0 = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim0.dim_value == 4 and not dim0.dim_param


def test_training_model_is_exported_in_eval_mode_and_restored(tmp_path) -> None:
    model = _mnist_mlp().train()
    x = _inputs((50, 1, 28, 28))
    sonnx.export(model, stirpile.tensor(x), tmp_path / "t.onnx")
    assert model.training and all(m.training for m in model.modules())
    out = _run(tmp_path / "t.onnx", x)
    np.testing.assert_allclose(out, _ours(model.eval(), x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "layers, shape",
    [
        ([nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ELU(0.5),
          nn.AvgPool2d(2), nn.Conv2d(4, 6, 3, padding="same", dilation=2, groups=2),
          nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
          nn.Linear(6, 4)], (2, 3, 16, 16)),
        ([nn.Conv1d(3, 5, 3, padding=1), nn.SiLU(), nn.Conv1d(5, 4, 2, stride=2, bias=False),
          nn.BatchNorm1d(4, affine=False), nn.Softplus(beta=2.0), nn.Flatten(),
          nn.Linear(4 * 5, 3)], (2, 3, 10)),
        ([nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), nn.GELU("tanh"),
          nn.AvgPool2d(2, padding=1, count_include_pad=False), nn.Sigmoid(),
          nn.Flatten(2), nn.Linear(9, 2), nn.Softmax(dim=-1)], (2, 2, 9, 9)),
        ([nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 8), nn.SELU(), nn.Hardswish(),
          nn.Hardtanh(-0.5, 0.5), nn.Sequential(nn.Mish(), nn.Identity()), nn.ReLU6(),
          nn.Hardsigmoid(), nn.CELU(0.7), nn.Softsign(), nn.LogSoftmax(1)], (2, 6)),
    ],
)  # fmt: skip
def test_layers_match(tmp_path, layers, shape) -> None:
    stirpile.manual_seed(0)
    model = nn.Sequential(*layers)
    for m in model.modules():  # non-trivial running statistics
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            m.running_mean.copy_(stirpile.rand(m.num_features) - 0.5)
            m.running_var.copy_(stirpile.rand(m.num_features) + 0.5)
    model.eval()
    x = _inputs((64, *shape[1:])) * 2
    _check(model, x, tmp_path / "m.onnx")


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_both_opsets(tmp_path, opset) -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(), nn.Linear(4, 4), nn.GELU("tanh"))
    _check(model.eval(), _inputs((30, 4)) * 3, tmp_path / "g.onnx", opset_version=opset)
    ops = {n.op_type for n in onnx.load(str(tmp_path / "g.onnx")).graph.node}
    assert ("Gelu" in ops) == (opset >= 20)


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.fc(x)


@pytest.mark.parametrize(
    "model, match",
    [
        (nn.Sequential(nn.Linear(4, 4), nn.PReLU()), "PReLU"),
        (nn.Sequential(nn.Linear(4, 4), nn.Softplus(), nn.RReLU()), "RReLU"),
        (nn.Sequential(nn.Sequential(nn.Tanhshrink())), "Tanhshrink"),
        (nn.Sequential(_Residual()), "_Residual"),
        (nn.Sequential(nn.Linear(4, 4), nn.Softmax()), "dim=None"),
    ],
)
@pytest.mark.filterwarnings("ignore:Implicit dimension choice")
def test_unsupported_modules_raise(tmp_path, model, match) -> None:
    path = tmp_path / "bad.onnx"
    with pytest.raises(NotImplementedError, match=match):
        sonnx.export(model, stirpile.tensor(_inputs((2, 4))), path)
    assert not path.exists()


def test_unsupported_pool_options(tmp_path) -> None:
    x = stirpile.tensor(_inputs((2, 1, 8, 8)))
    with pytest.raises(NotImplementedError, match="AdaptiveAvgPool2d"):
        sonnx.export(nn.Sequential(nn.AdaptiveAvgPool2d(2)), x, tmp_path / "a.onnx")
    with pytest.raises(NotImplementedError, match="divisor_override"):
        sonnx.export(nn.Sequential(nn.AvgPool2d(2, divisor_override=3)), x, tmp_path / "b.onnx")


def test_missing_onnx_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install stirpile\[onnx\]"):
        sonnx.export(nn.Sequential(nn.ReLU()), stirpile.zeros(2, 3), tmp_path / "x.onnx")
