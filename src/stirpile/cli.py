"""The ``stirpile`` command: ``train``, ``evaluate``, ``predict``.

``stirpile train`` with no arguments trains the default MLP on MNIST when the
files are cached, given with ``--data-dir`` or downloadable, and otherwise on
the 8×8 digits that ship with scikit-learn, saying so in one line. Every run
writes its checkpoint, history, figures and ``summary.json`` to ``--out``
(default ``runs/DATASET``).

A run never replaces another: when the output directory already holds files,
the run goes to the next free numbered directory beside it (``runs/mnist-2``,
``runs/mnist-3``, …) and says so; ``--overwrite`` writes into the directory
as given. ``--resume DIR/last.ckpt`` continues in ``DIR`` (or in ``--out``).

Errors come before work: every option is checked (finite, in range, a model
that fits in memory, an output directory that can be written) before data is
read or an epoch runs. Bad arguments, missing files and unusable checkpoints
give a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from .cli_checks import (
    MAX_SEED,
    CLIError,
    check_model_state,
    check_out_dir,
    claim_out_dir,
    validate_config,
)
from .data.datasets.digits import recipe as digits_recipe

DEFAULTS = {
    "model": "mlp",
    "hidden": "512,256",
    "activation": "relu",
    "dropout": 0.2,
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "schedule": "onecycle",
    "epochs": 30,
    "batch_size": 64,
    "augment": True,
    "seed": 0,
}


MAX_PIXELS = 4096 * 4096  # predict: larger images are refused (a decompression bomb guard)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + traceback
        raise CLIError(f"{self.prog}: {message} (see {self.prog} --help)")


# -- data --------------------------------------------------------------------------------
def _digits(train: bool) -> Any:
    from .data.datasets import Digits

    try:
        return Digits(train=train)
    except ImportError as e:
        raise CLIError(str(e).splitlines()[0]) from None


def load_data(dataset: str | None, data_dir: str | None, test_only: bool = False,
              verify: bool = True) -> dict:  # fmt: skip
    """Arrays for training and testing, falling back to the digits when MNIST is absent
    and no dataset was asked for explicitly. ``test_only`` reads just the test files
    (``x_train`` is then None); ``verify=False`` accepts files whose sha256 is not the
    published one (``--no-verify``)."""
    from .data.datasets import MNIST, FashionMNIST

    name = dataset or "mnist"
    if name == "digits":
        train = None if test_only else _digits(True)
        return _pack("digits", train, _digits(False), (8, 8), "the 8x8 digits (scikit-learn)")
    cls = {"mnist": MNIST, "fashion-mnist": FashionMNIST}.get(name)
    if cls is None:
        raise CLIError(f"unknown dataset {name!r}; choose mnist, fashion-mnist or digits")
    try:
        test = cls(root=data_dir, train=False, download=data_dir is None, verify=verify)
        if test_only:
            return _pack(name, None, test, (28, 28), f"{cls.__name__} (test)")
        try:
            train = cls(root=data_dir, split="train", download=data_dir is None, verify=verify)
        except FileNotFoundError:
            if "train5k" not in cls.files:
                raise
            train = cls(root=data_dir, split="train5k", verify=verify)  # the offline subset
        return _pack(name, train, test, (28, 28), f"{cls.__name__} ({train.split})")
    except ValueError as e:  # a file that is not the dataset's (checksum, IDX header)
        raise CLIError(str(e).splitlines()[0]) from None
    except FileNotFoundError as e:
        if dataset is not None or data_dir is not None:
            first = str(e).splitlines()[0]
            raise CLIError(
                f"{first} (looked in {data_dir or 'the cache'}; see --data-dir)"
            ) from None
        from .data.datasets import Digits

        try:
            train, test = Digits(train=True), Digits(train=False)
        except ImportError as ie:
            raise CLIError(f"MNIST not found and no network; {ie}") from None
        print("MNIST is not cached and could not be downloaded: training on the 8x8 digits "
              "instead (give --data-dir DIR with the MNIST files for the real thing).")  # fmt: skip
        return _pack("digits", train, test, (8, 8), "the 8x8 digits (fallback)")


def _pack(name: str, train: Any, test: Any, shape: tuple, label: str) -> dict[str, Any]:
    xtr, ytr = train.arrays() if train is not None else (None, None)
    xte, yte = test.arrays()
    top = max(int(ytr.max()) if ytr is not None else 0, int(yte.max()))
    return {"name": name, "label": label, "image_shape": shape, "x_train": xtr,
            "y_train": ytr, "x_test": xte, "y_test": yte, "classes": top + 1}  # fmt: skip


# -- model, optimizer, schedule ----------------------------------------------------------
MODELS = ("mlp", "lenet", "lstm")


def make_model(cfg: dict[str, Any], image_shape: tuple, n_classes: int) -> Any:
    """The network ``cfg["model"]`` names, for flat images of ``image_shape``: the MLP
    (``--hidden``, ``--activation``, ``--dropout``), LeNet-5 (``--activation``,
    ``--dropout``) or an LSTM reading the image row by row (hidden 128)."""
    from . import models

    kind, (height, width) = cfg.get("model", "mlp"), image_shape
    if kind == "mlp":
        return models.mlp([height * width, *cfg["hidden"], n_classes], cfg["activation"],
                          cfg["dropout"])  # fmt: skip
    if kind == "lenet":
        if height != width:
            raise CLIError(f"--model lenet needs square images, got {height}x{width}")
        try:
            return models.lenet5(n_classes, 1, height, cfg["activation"], cfg["dropout"])
        except ValueError as e:
            raise CLIError(f"--model lenet: {e}") from None
    if kind == "lstm":
        return models.SequenceClassifier(width, 128, n_classes)
    raise CLIError(f"unknown model {kind!r}; choose {', '.join(MODELS)}")


def build(cfg: dict[str, Any], image_shape: tuple, n_classes: int, steps_per_epoch: int) -> tuple:
    from . import optim

    model = make_model(cfg, image_shape, n_classes)
    kind, lr, wd = cfg["optimizer"], cfg["lr"], cfg["weight_decay"]
    params = model.parameters()
    if kind == "sgd":
        opt = optim.SGD(params, lr=lr, momentum=cfg["momentum"], weight_decay=wd,
                        nesterov=cfg["momentum"] > 0)  # fmt: skip
    elif kind in ("adam", "adamw"):
        opt = (optim.Adam if kind == "adam" else optim.AdamW)(params, lr=lr, weight_decay=wd)
    elif kind == "rmsprop":
        opt = optim.RMSprop(params, lr=lr, momentum=cfg["momentum"], weight_decay=wd)
    elif kind == "adagrad":
        opt = optim.Adagrad(params, lr=lr, weight_decay=wd)
    else:
        raise CLIError(f"unknown optimizer {kind!r}; choose sgd, adam, adamw, rmsprop, adagrad")
    epochs, sched = cfg["epochs"], cfg["schedule"]
    lrs = optim.lr_scheduler
    if sched == "none":
        scheduler = None
    elif sched == "step":
        scheduler = lrs.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    elif sched == "cosine":
        scheduler = lrs.CosineAnnealingLR(opt, T_max=epochs)
    elif sched == "onecycle":
        scheduler = lrs.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    else:
        raise CLIError(f"unknown schedule {sched!r}; choose none, step, cosine, onecycle")
    return model, opt, scheduler


# -- commands ----------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    import stirpile

    from .data import DataLoader, DistributedSampler, TensorDataset
    from .data.transforms import RandomAffine
    from .io import atomic_write
    from .nn.parallel import DistributedDataParallel
    from .train import Checkpoint, ProgressBar, Trainer, confusion_matrix, plots

    cfg = _config(args)
    rank, world = _start_distributed(args.distributed)
    dataset, data_dir, resume_dir = args.dataset, args.data_dir, None
    if args.resume is not None:  # continue the exact run: its own config, not today's flags
        cfg, old_meta = _resume_config(args.resume)
        dataset = cfg.get("dataset", dataset)
        data_dir = data_dir or old_meta.get("data_dir")
        resume_dir = Path(args.resume).resolve().parent
    if args.out:  # an unusable --out is an error before any data is read
        _on_rank0(lambda: check_out_dir(Path(args.out)), world)
    data = load_data(dataset, data_dir, verify=not args.no_verify)
    if data["name"] == "digits" and args.resume is None:  # a recipe suited to 8x8 images
        cfg = digits_recipe(cfg, DEFAULTS)
    if args.out:
        out = Path(args.out)
    else:
        out = resume_dir if resume_dir is not None else Path("runs") / data["name"]
    resuming_here = resume_dir is not None and out.resolve() == resume_dir
    # rank 0 alone writes the run's files
    out = _on_rank0(lambda: claim_out_dir(out, args.overwrite or resuming_here), world)
    stirpile.manual_seed(cfg["seed"])
    train_ds = TensorDataset(data["x_train"], data["y_train"])
    test_ds = TensorDataset(data["x_test"], data["y_test"])
    sampler = None
    if world > 1:  # each process reads its own shard of every epoch
        sampler = DistributedSampler(train_ds, world, rank, seed=cfg["seed"])
    loader = DataLoader(train_ds, batch_size=cfg["batch_size"], shuffle=sampler is None,
                        sampler=sampler, generator=cfg["seed"])  # fmt: skip
    test_loader = DataLoader(test_ds, batch_size=1000)
    model, opt, sched = build(cfg, data["image_shape"], data["classes"], len(loader))
    net = model
    if world > 1:  # the same initial weights everywhere (rank 0's), gradients averaged
        net = DistributedDataParallel(model)
        stirpile.manual_seed(cfg["seed"] + 7919 * rank)  # each rank its own dropout masks
    augment = None
    if cfg["augment"]:
        augment = RandomAffine(
            degrees=10,
            translate=(0.1, 0.1),
            scale=(0.9, 1.1),
            image_shape=data["image_shape"],
            generator=cfg["seed"] + 1 + rank,
        )
    lead = rank == 0  # the progress bar, the log and every file are rank 0's
    trainer = Trainer(net, opt, scheduler=sched, augment=augment, out_dir=out if lead else None,
                      callbacks=[ProgressBar(), Checkpoint(out)] if lead else [],
                      log=print if lead else None, compile=args.compile)  # fmt: skip
    cfg["dataset"] = data["name"]
    trainer.meta = {"config": cfg, "image_shape": list(data["image_shape"]),
                    "classes": data["classes"],
                    "data_dir": str(Path(data_dir).resolve()) if data_dir else None}  # fmt: skip
    processes = ""
    if world > 1:
        processes = (f", {world} processes x batch {cfg['batch_size']} = batch "
                     f"{world * cfg['batch_size']}")  # fmt: skip
    trainer.log(f"training {_describe(model)} on {data['label']}: {len(train_ds):,} train / "
                f"{len(test_ds):,} test images, {cfg['epochs']} epochs{processes} "
                f"-> {out}/")  # fmt: skip
    t0 = time.perf_counter()
    history = trainer.fit(loader, cfg["epochs"], test_loader, resume=args.resume)
    seconds = time.perf_counter() - t0
    if not lead:
        return 0
    stirpile.save({"model": model.state_dict(), "meta": trainer.meta}, out / "model.ckpt")

    pred, _ = _predict(model, data["x_test"])
    cm = confusion_matrix(pred, data["y_test"], data["classes"])
    plots.plot_history(history, out / "curves.png")
    plots.plot_confusion(cm, out / "confusion.png")
    _plot_first_layer(model, out / "weights.png", data["image_shape"])
    # the first test images, then some mistakes (the interesting ones)
    wrong = np.flatnonzero(pred != data["y_test"])
    shown = np.concatenate([np.arange(24), wrong[~np.isin(wrong, np.arange(24))][:12]])
    plots.plot_predictions(data["x_test"][shown], pred[shown], data["y_test"][shown],
                           out / "predictions.png", data["image_shape"])  # fmt: skip
    last = history.last
    summary = {
        "dataset": data["label"],
        "test_acc": last.get("val_acc"),
        "test_loss": last.get("val_loss"),
        "train_acc": last.get("train_acc"),
        "train_loss": last.get("train_loss"),
        "epochs": last.get("epoch"),
        "seconds": round(seconds, 2),
        "samples_per_s": round(float(np.median(history["samples_per_s"])), 1),
        "config": cfg,
    }
    atomic_write(out / "summary.json", json.dumps(summary, indent=2))
    _print_table(
        [
            ("dataset", data["label"]),
            ("test accuracy", f"{summary['test_acc']:.2%}"),
            ("test loss", f"{summary['test_loss']:.4f}"),
            ("train accuracy", f"{summary['train_acc']:.2%}"),
            ("epochs", summary["epochs"]),
            ("time", f"{seconds:.1f} s"),
            ("throughput", f"{summary['samples_per_s']:,.0f} img/s"),
            ("outputs", f"{out}/ (model.ckpt, history.csv, *.png, summary.json)"),
        ]
    )
    return 0


def _start_distributed(on: bool) -> tuple[int, int]:
    """``(rank, world size)``: ``(0, 1)`` unless ``--distributed``, then MPI's."""
    if not on:
        return 0, 1
    from . import distributed as dist

    try:
        dist.init_process_group("mpi")
    except RuntimeError as e:
        raise CLIError(str(e)) from None
    return dist.get_rank(), dist.get_world_size()


def _on_rank0(fn: Any, world: int) -> Any:
    """``fn()`` on rank 0 only; its result, or its error, reaches every rank (so that all
    of them stop together, with the same message)."""
    if world == 1:
        return fn()
    from . import distributed as dist

    outcome: list = [None]
    if dist.get_rank() == 0:
        try:
            outcome = [("ok", fn())]
        except CLIError as e:
            outcome = [("error", str(e))]
    dist.broadcast_object_list(outcome, src=0)
    kind, value = outcome[0]
    if kind == "error":
        raise CLIError(value)
    return value


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .train import accuracy

    model, meta = _load_model(args.checkpoint)
    trained_on = meta["config"].get("dataset") or "mnist"
    if args.dataset is not None and args.dataset != trained_on:
        raise CLIError(
            f"{args.checkpoint} was trained on {trained_on}, not {args.dataset}; evaluate it "
            f"with --dataset {trained_on} (or leave --dataset out)"
        )
    data_dir = args.data_dir or meta.get("data_dir")
    data = load_data(trained_on, data_dir, test_only=True, verify=not args.no_verify)
    n_in = int(np.prod(meta["image_shape"]))
    if data["x_test"].shape[1] != n_in or data["classes"] > meta["classes"]:
        raise CLIError(
            f"{args.checkpoint} takes {n_in} inputs and {meta['classes']} classes, but "
            f"{data['label']} has {data['x_test'].shape[1]} pixels and {data['classes']} "
            "classes: not the data this model was trained on"
        )
    pred, logits = _predict(model, data["x_test"])
    from .nn.functional import cross_entropy
    from .tensor import Tensor

    loss = cross_entropy(Tensor._make(logits), Tensor._make(data["y_test"])).item()
    acc = accuracy(pred, data["y_test"])
    _print_table([("checkpoint", args.checkpoint), ("dataset", data["label"]),
                  ("test accuracy", f"{acc:.2%}"), ("test loss", f"{loss:.4f}")])  # fmt: skip
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model, meta = _load_model(args.checkpoint)
    shape = tuple(meta["image_shape"])
    x = _read_image(args.image, shape)
    pred, logits = _predict(model, x[None])
    p = np.exp(logits[0] - logits[0].max())
    p /= p.sum()
    top = np.argsort(p)[::-1][:3]
    print(f"{args.image}: {int(pred[0])}  (" + ", ".join(f"{k}: {p[k]:.1%}" for k in top) + ")")
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from . import labs

    if args.list or args.name is None:
        for name, summary in labs.available().items():
            print(f"{name:<16} {summary}")
        return 0
    try:
        lab = labs.get(args.name)
    except KeyError as e:
        raise CLIError(str(e.args[0])) from None
    out = Path(args.out or f"runs/lab-{args.name}")
    if not 0 <= args.seed <= MAX_SEED:
        raise CLIError(f"--seed must be in [0, {MAX_SEED}], got {args.seed}")
    check_out_dir(out)
    version = "quick" if args.quick else "full"
    print(f"lab {args.name} ({version}) -> {out}/")
    t0 = time.perf_counter()
    results = lab.run(quick=args.quick, seed=args.seed, data_dir=args.data_dir)
    paths = lab.report(results, out)
    print(f"done in {time.perf_counter() - t0:.1f} s:")
    for path in paths:
        print(f"  {path}")
    readme = out / "README.md"
    if readme.is_file():
        print()
        print(readme.read_text())
    return 0


# -- helpers -----------------------------------------------------------------------------
def _config(args: argparse.Namespace) -> dict[str, Any]:
    cfg = {k: getattr(args, k) for k in DEFAULTS}
    try:
        cfg["hidden"] = [int(h) for h in str(cfg["hidden"]).split(",") if h.strip()]
    except ValueError:
        raise CLIError(
            f"--hidden takes comma-separated widths like 512,256, got {args.hidden!r}"
        ) from None
    validate_config(cfg)
    if args.resume is not None and not Path(args.resume).is_file():
        raise CLIError(f"--resume: no such checkpoint file: {args.resume}")
    return cfg


def _resume_config(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config and meta of the run to continue, after checking that ``path`` is a
    run that can be continued (not a finished one, not a bare model.ckpt)."""
    import stirpile

    state = stirpile.load(path)
    meta = state.get("meta") if isinstance(state, dict) else None
    cfg = meta.get("config") if isinstance(meta, dict) else None
    if not isinstance(cfg, dict):
        raise CLIError(f"--resume: {path} is not a checkpoint written by stirpile train")
    run_dir = Path(path).parent
    if "optimizer" not in state or "epoch" not in state:
        raise CLIError(
            f"--resume: {path} holds only a trained model's weights, not a run to continue; "
            f"resume from {run_dir / 'last.ckpt'} (or evaluate {path})"
        )
    validate_config(cfg)
    check_model_state(path, state, meta)
    epoch = state["epoch"]
    finished = state.get("stopped") or (isinstance(epoch, int) and epoch >= cfg["epochs"])
    if finished and (run_dir / "model.ckpt").is_file():
        raise CLIError(
            f"--resume: the run in {run_dir}/ already finished (epoch {epoch} of "
            f"{cfg['epochs']}); evaluate {run_dir / 'model.ckpt'}, or start a new run "
            "with more --epochs"
        )
    print(f"resuming {path} with the run's own settings (command-line options are ignored)")
    return dict(cfg), meta


def _describe(model: Any) -> str:
    from . import models, nn

    n = f"{sum(p.numel() for p in model.parameters()):,} parameters"
    if isinstance(model, models.LeNet5):
        return f"LeNet-5 ({n})"
    if isinstance(model, models.SequenceClassifier):
        return f"LSTM {model.rnn.input_size}-{model.rnn.hidden_size} over image rows ({n})"
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    widths = [linears[0].in_features] + [m.out_features for m in linears]
    return "MLP " + "-".join(map(str, widths))


def _plot_first_layer(model: Any, path: Path, image_shape: tuple) -> None:
    """What the first layer learned: the MLP's first weights as images, or LeNet's
    first convolution kernels (an LSTM has no such picture)."""
    from . import nn
    from .train import plots

    first = next((m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))), None)
    if isinstance(first, nn.Conv2d):
        w = first.weight.detach().numpy()
        plots.plot_weights(w.reshape(w.shape[0], -1), path, w.shape[-2:])
    elif isinstance(first, nn.Linear) and first.in_features == image_shape[0] * image_shape[1]:
        plots.plot_weights(first.weight.detach().numpy(), path, image_shape)


def _predict(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from .autograd.grad_mode import no_grad
    from .tensor import Tensor

    model.eval()
    with no_grad():
        logits = np.concatenate([model(Tensor._make(x[i : i + 2000]))._data
                                 for i in range(0, len(x), 2000)])  # fmt: skip
    return logits.argmax(1), logits


def _load_model(path: str) -> tuple[Any, dict]:
    import stirpile

    if not Path(path).is_file():
        raise CLIError(f"no such checkpoint file: {path}")
    state = stirpile.load(path)
    meta = state.get("meta") if isinstance(state, dict) else None
    cfg = meta.get("config") if isinstance(meta, dict) else None
    if not isinstance(cfg, dict) or "model" not in state:
        raise CLIError(f"{path}: not a stirpile train checkpoint (no model config inside)")
    meta["image_shape"] = check_model_state(path, state, meta)
    model = make_model(cfg, tuple(meta["image_shape"]), meta["classes"])
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError, TypeError) as e:
        detail = " ".join(str(e).split())  # (one line)
        raise CLIError(f"{path}: its weights do not fit its config ({detail})") from None
    return model, meta


def _read_image(path: str, shape: tuple) -> np.ndarray:
    """A PNG as a flat float32 vector in [0, 1], white digit on black like MNIST."""
    if not Path(path).is_file():
        raise CLIError(f"no such image file: {path}")
    try:
        from PIL import Image
    except ImportError:
        raise CLIError("predict needs Pillow to read images: pip install pillow") from None
    try:
        img = Image.open(path)  # reads the header only
        width, height = img.size
        if width * height > MAX_PIXELS:
            raise CLIError(
                f"{path}: {width}x{height} pixels is too large (limit {MAX_PIXELS:,} pixels); "
                "crop or shrink the image around the digit"
            )
        img = _grayscale(img)
    except CLIError:
        raise
    except Exception as e:  # any decoder failure is a user error here
        raise CLIError(f"{path}: cannot read image ({e})") from None
    if img.size != shape[::-1]:
        img = img.resize(shape[::-1], Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    if a.mean() > 0.5:  # dark ink on light paper: invert to MNIST's convention
        a = 1.0 - a
    return a.reshape(-1)


def _grayscale(img: Any) -> Any:
    """Grayscale, with any transparency composited over white paper first (a black
    digit on a transparent background is a black digit on white, not all black)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, rgba)
    return img.convert("L")


def _print_table(rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    print("-" * (width + 40))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("-" * (width + 40))


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="stirpile", description="Train, evaluate and use classifiers with stirpile.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train a classifier (an MLP on MNIST by default)")
    t.add_argument("--dataset", choices=["mnist", "fashion-mnist", "digits"], default=None)
    t.add_argument("--data-dir", default=None, help="directory holding the dataset files")
    t.add_argument("--no-verify", action="store_true",
                   help="read dataset files whose sha256 is not the published one")  # fmt: skip
    t.add_argument("--model", choices=MODELS, default=DEFAULTS["model"],
                   help="mlp (default), lenet (LeNet-5) or lstm (reads image rows)")  # fmt: skip
    t.add_argument("--hidden", default=DEFAULTS["hidden"],
                   help="hidden widths of the MLP, e.g. 512,256")  # fmt: skip
    t.add_argument("--activation", default=DEFAULTS["activation"],
                   choices=["relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "prelu",
                            "rrelu", "gelu", "silu", "none"])  # fmt: skip
    t.add_argument("--dropout", type=float, default=DEFAULTS["dropout"])
    t.add_argument("--optimizer", default=DEFAULTS["optimizer"],
                   choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"])  # fmt: skip
    t.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    t.add_argument("--momentum", type=float, default=DEFAULTS["momentum"])
    t.add_argument("--weight-decay", type=float, default=DEFAULTS["weight_decay"])
    t.add_argument("--schedule", default=DEFAULTS["schedule"],
                   choices=["none", "step", "cosine", "onecycle"])  # fmt: skip
    t.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    t.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=DEFAULTS["augment"])
    t.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    t.add_argument("--out", default=None,
                   help="output directory (default runs/DATASET; when it already holds a "
                        "run, the next free DIR-2, DIR-3, ... is used)")  # fmt: skip
    t.add_argument("--overwrite", action="store_true",
                   help="write into --out even when it holds an earlier run")  # fmt: skip
    t.add_argument("--resume", default=None,
                   help="continue an interrupted run from its DIR/last.ckpt (in DIR)")  # fmt: skip
    t.add_argument("--threads", type=int, default=1,
                   help="BLAS threads (default 1: small MLPs gain little from more, and a "
                        "busy machine can make multithreaded BLAS much slower)")  # fmt: skip
    t.add_argument("--compile", action="store_true",
                   help="record the training step, then replay it (stirpile.compile)")  # fmt: skip
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over the processes of `mpiexec -n K` (--batch-size is "
                        "per process; needs stirpile[distributed])")  # fmt: skip
    t.set_defaults(func=cmd_train)
    e = sub.add_parser("evaluate", help="test accuracy of a checkpoint")
    e.add_argument("checkpoint")
    e.add_argument("--dataset", choices=["mnist", "fashion-mnist", "digits"], default=None,
                   help="default: the checkpoint's own")  # fmt: skip
    e.add_argument("--data-dir", default=None,
                   help="directory with the test files (default: the checkpoint's, then "
                        "the cache)")  # fmt: skip
    e.add_argument("--no-verify", action="store_true",
                   help="read dataset files whose sha256 is not the published one")  # fmt: skip
    e.set_defaults(func=cmd_evaluate)
    r = sub.add_parser("predict", help="classify one image (PNG)")
    r.add_argument("checkpoint")
    r.add_argument("image")
    r.set_defaults(func=cmd_predict)
    lab = sub.add_parser("lab", help="run one of the lectures' experiments (--list)")
    lab.add_argument("name", nargs="?", help="the lab to run (see --list)")
    lab.add_argument("--list", action="store_true", help="list the labs")
    lab.add_argument("--quick", action="store_true", help="a small, fast version")
    lab.add_argument("--out", default=None, help="output directory (default runs/lab-NAME)")
    lab.add_argument("--data-dir", default=None, help="directory holding the MNIST files")
    lab.add_argument("--seed", type=int, default=0)
    lab.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    lab.set_defaults(func=cmd_lab)
    return p


def main(argv: list[str] | None = None) -> int:
    code = _main(argv)
    from . import distributed as dist

    if code and dist.is_initialized() and dist.get_world_size() > 1:
        # a rank that stops must stop them all: the others would wait for it forever
        dist._abort(code)
    return code


def _main(argv: list[str] | None) -> int:
    from .data.datasets import DownloadError, IDXError
    from .io import CheckpointError

    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "threads", None) is not None:
            if args.threads < 1:
                raise CLIError(f"--threads must be at least 1, got {args.threads}")
            from .backend import set_num_threads

            set_num_threads(args.threads)
        return args.func(args)
    except CLIError as e:
        print(f"stirpile: error: {e}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IDXError, DownloadError, CheckpointError) as e:
        print(f"stirpile: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nstirpile: interrupted (resume with --resume <out>/last.ckpt)", file=sys.stderr)
        return 130
