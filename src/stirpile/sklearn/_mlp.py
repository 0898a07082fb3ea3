"""The shared machinery of :mod:`stirpile.sklearn`'s MLPs: network, loss, training loop.

scikit-learn's ``BaseMultilayerPerceptron`` written over stirpile: the network is an
``nn.Sequential`` of ``Linear`` (+ ``BatchNorm1d``) + activation (+ ``Dropout``)
layers, the gradient comes from stirpile's autograd, the update from ``stirpile.optim``;
the epoch loop, the L2 penalty, the stopping rule and the attributes follow
scikit-learn's ``_multilayer_perceptron.py``.
"""

from __future__ import annotations

import warnings
from itertools import pairwise
from numbers import Integral, Real
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils import shuffle as _shuffle
except ImportError as e:  # pragma: no cover - the extra is absent
    raise ImportError("stirpile.sklearn needs scikit-learn: pip install 'stirpile[sklearn]'") from e

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def _validate_data(est: Any, *args: Any, **kwargs: Any) -> Any:
        return est._validate_data(*args, **kwargs)


import stirpile
from stirpile import nn, optim
from stirpile.nn import functional as F

_ACTIVATIONS = {"identity": None, "logistic": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
_SOLVERS = ("sgd", "adam")
_SCHEDULES = ("constant", "invscaling", "adaptive")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + e^-z), without overflow warnings


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


_OUTPUTS = {"identity": lambda z: z, "logistic": _sigmoid, "softmax": _softmax}


class BaseMLP(BaseEstimator):
    """What :class:`MLPClassifier` and :class:`MLPRegressor` share (not public)."""

    # -- parameters ------------------------------------------------------------------
    def _check_params(self) -> list[int]:
        """Validate the hyperparameters (at fit time, as scikit-learn does); return the
        hidden layer sizes as a list."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(isinstance(s, Integral) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        if self.solver == "lbfgs":
            raise ValueError(
                "solver='lbfgs' is not supported by stirpile.sklearn (it trains by "
                "mini-batch gradient steps): use solver='sgd' or 'adam', or optimizer=..."
            )
        choices = {
            "activation": tuple(_ACTIVATIONS),
            "solver": _SOLVERS,
            "learning_rate": _SCHEDULES,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"The {name!r} parameter of {type(self).__name__} must be one of "
                    f"{allowed}, got {getattr(self, name)!r}."
                )
        if self.optimizer is not None:
            cls = getattr(optim, str(self.optimizer), None)
            if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
                names = sorted(n for n in optim.__all__ if n != "Optimizer")
                raise ValueError(
                    f"optimizer must be None or the name of a stirpile.optim optimizer "
                    f"{names}, got {self.optimizer!r}."
                )
        bs = self.batch_size
        if not (bs == "auto" or (isinstance(bs, Integral) and bs >= 1)):
            raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {bs!r}.")
        positive = ("learning_rate_init", "max_iter", "n_iter_no_change", "epsilon", "max_fun")
        nonnegative = ("alpha", "tol", "power_t")
        unit = ("momentum", "beta_1", "beta_2")  # in [0, 1)
        for name in positive + nonnegative + unit + ("validation_fraction", "dropout"):
            v = getattr(self, name)
            ok = isinstance(v, Real) and not isinstance(v, bool)
            if ok and name in positive:
                ok = v > 0
            elif ok and name in nonnegative:
                ok = v >= 0
            elif ok and name in unit:
                ok = 0 <= v < 1 if name != "momentum" else 0 <= v <= 1
            elif ok and name == "validation_fraction":
                ok = 0 < v < 1
            elif ok and name == "dropout":
                ok = 0 <= v < 1
            if not ok:
                raise ValueError(f"Invalid value for {name!r} of {type(self).__name__}: {v!r}.")
        return sizes

    # -- network -------------------------------------------------------------------
    def _build(self, layer_units: list[int], rs: np.random.RandomState) -> None:
        """Make ``model_`` with scikit-learn's initialisation: Glorot uniform,
        ``U(±sqrt(f / (fan_in + fan_out)))`` with f = 2 for 'logistic' and 6 otherwise,
        for weights *and* biases, drawn in scikit-learn's order from ``random_state``
        (so the same ``random_state`` starts from the same weights as scikit-learn)."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        act = _ACTIVATIONS[self.activation]
        layers: list[nn.Module] = []
        with stirpile.random.fork_rng():  # Linear's own init must not move the global RNG
            for i, (fan_in, fan_out) in enumerate(pairwise(layer_units)):
                bound = np.sqrt(factor / (fan_in + fan_out))
                coef = rs.uniform(-bound, bound, (fan_in, fan_out))
                intercept = rs.uniform(-bound, bound, fan_out)
                lin = nn.Linear(fan_in, fan_out)
                lin.weight._data = np.ascontiguousarray(coef.T, dtype=np.float32)
                lin.bias._data = intercept.astype(np.float32)
                layers.append(lin)
                if i < len(layer_units) - 2:
                    if self.batch_norm:
                        layers.append(nn.BatchNorm1d(fan_out))
                    if act is not None:
                        layers.append(act())
                    if self.dropout:
                        layers.append(nn.Dropout(self.dropout))
        self.model_ = nn.Sequential(*layers)
        self.n_layers_ = len(layer_units)
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

    def _linears(self) -> list[nn.Linear]:
        return [m for m in self.model_ if isinstance(m, nn.Linear)]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """The weight matrices, ``coefs_[i]`` of shape (fan_in, fan_out) (a copy of
        ``model_``'s, transposed to scikit-learn's layout)."""
        return [lin.weight._data.T.copy() for lin in self._linears()]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """The bias vectors, ``intercepts_[i]`` of shape (fan_out,) (a copy)."""
        return [lin.bias._data.copy() for lin in self._linears()]

    def _make_optimizer(self) -> optim.Optimizer:
        params = list(self.model_.parameters())
        lr = self.learning_rate_init
        if self.optimizer is not None:
            return getattr(optim, self.optimizer)(params, lr=lr)
        if self.solver == "sgd":
            nesterov = bool(self.nesterovs_momentum and self.momentum > 0)
            return optim.SGD(params, lr=lr, momentum=self.momentum, nesterov=nesterov)
        return optim.Adam(params, lr=lr, betas=(self.beta_1, self.beta_2), eps=self.epsilon)

    # -- forward ---------------------------------------------------------------------
    def _check_X(self, X: Any, reset: bool = False) -> np.ndarray:
        X = _validate_data(self, X, accept_sparse=["csr", "csc"], reset=reset)
        return self._dense(X)

    @staticmethod
    def _dense(X: Any) -> np.ndarray:
        if hasattr(X, "toarray"):  # scipy.sparse: densified (the network is dense)
            X = X.toarray()
        return np.ascontiguousarray(X, dtype=np.float32)

    def _forward(self, X: np.ndarray) -> np.ndarray:
        """The output layer's activations (float64) for float32 ``X``, in eval mode."""
        was_training = self.model_.training
        self.model_.eval()
        try:
            with stirpile.no_grad():
                z = self.model_(stirpile.from_numpy(X))._data.astype(np.float64)
        finally:
            self.model_.train(was_training)
        return _OUTPUTS[self.out_activation_](z)

    # -- training --------------------------------------------------------------------
    def _batch_loss(self, out: Any, yb: Any, m: int) -> Any:
        """The loss whose gradient scikit-learn's backprop computes: the mean
        cross-entropy (softmax), the binary log loss summed over outputs and averaged
        over samples (logistic), or half the squared error summed over outputs and
        averaged over samples (identity)."""
        if self.out_activation_ == "softmax":
            return F.cross_entropy(out, yb)
        if self.out_activation_ == "logistic":
            return F.binary_cross_entropy_with_logits(out, yb, reduction="sum") * (1.0 / m)
        return F.mse_loss(out, yb, reduction="sum") * (0.5 / m)

    def _targets(self, y: np.ndarray) -> np.ndarray:
        if self.out_activation_ == "softmax":
            return np.argmax(y, axis=1).astype(np.int64)
        return np.ascontiguousarray(y, dtype=np.float32)

    def _fit(self, X: Any, y: Any, incremental: bool = False) -> BaseMLP:
        hidden = self._check_params()
        first_pass = not hasattr(self, "model_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        X = self._dense(X)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        rs = check_random_state(self.random_state)
        if first_pass:
            self.n_outputs_ = y.shape[1]
            self._set_out_activation()
            self._build([X.shape[1], *hidden, self.n_outputs_], rs)
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs, but {type(self).__name__} was fitted "
                f"with {self.n_outputs_}."
            )
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = self._make_optimizer()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        with stirpile.random.fork_rng(enabled=bool(self.dropout)):
            if self.dropout:  # dropout masks come from random_state, not the global RNG
                stirpile.manual_seed(int(rs.randint(np.iinfo(np.int32).max)))
            self._fit_stochastic(X, y, rs, incremental)
        if not all(np.isfinite(p._data).all() for p in self.model_.parameters()):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _fit_stochastic(self, X: np.ndarray, y: np.ndarray, rs: Any, incremental: bool) -> None:
        X_val = y_val = None
        if self.early_stopping:
            stratify = y if self._is_classifier() and self.n_outputs_ == 1 else None
            X, X_val, y, y_val = train_test_split(
                X, y, random_state=rs, test_size=self.validation_fraction, stratify=stratify
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            y_val = self._val_targets(y_val)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going "
                    "to be clipped",
                    stacklevel=4,
                )
            batch = int(np.clip(self.batch_size, 1, n))
        targets = self._targets(y)
        weights = [lin.weight for lin in self._linears()]
        scratch = [np.empty_like(w._data) for w in weights]
        model, opt, alpha = self.model_, self._optimizer, self.alpha
        k = 1.0 if self.out_activation_ != "identity" else 1.0 / self.n_outputs_
        idx = np.arange(n)
        from_numpy = stirpile.from_numpy
        model.train()
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                idx = _shuffle(idx, random_state=rs)
            # one gather per epoch, then contiguous views: cheaper than a gather per batch
            Xe, Te = (X[idx], targets[idx]) if self.shuffle else (X, targets)
            total = 0.0
            for start in range(0, n, batch):
                xb, yb = Xe[start : start + batch], Te[start : start + batch]
                m = xb.shape[0]
                loss = self._batch_loss(model(from_numpy(xb)), from_numpy(yb), m)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                value = loss.item() * k
                if alpha:  # L2 on the weights, as scikit-learn: alpha/2 ||W||^2 / m
                    c = alpha / m
                    sq = 0.0
                    for w, tmp in zip(weights, scratch):
                        flat = w._data.ravel()
                        sq += float(np.dot(flat, flat))
                        np.multiply(w._data, c, out=tmp)
                        w.grad._data += tmp
                    value += 0.5 * c * sq
                opt.step()
                total += value * m
            self.n_iter_ += 1
            self.t_ += n
            self.loss_ = total / n
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
            self._update_no_improvement_count(X_val, y_val)
            if (
                self.solver == "sgd"
                and self.optimizer is None
                and self.learning_rate == "invscaling"
            ):
                self._set_lr(self.learning_rate_init / (self.t_ + 1) ** self.power_t)
            if self._no_improvement_count > self.n_iter_no_change:
                what = "Validation score" if self.early_stopping else "Training loss"
                msg = (
                    f"{what} did not improve more than tol={self.tol:f} for "
                    f"{self.n_iter_no_change} consecutive epochs."
                )
                if self._trigger_stopping(msg):
                    break
                self._no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
        if self.early_stopping:  # restore the best weights
            for t, best in zip(self._state(), self._best_state):
                t._data[...] = best

    def _state(self) -> list[Any]:
        return [*self.model_.parameters(), *self.model_.buffers()]

    def _set_lr(self, lr: float) -> None:
        for group in self._optimizer.param_groups:
            group["lr"] = lr

    def _trigger_stopping(self, msg: str) -> bool:
        """scikit-learn's rule: stop, except with sgd + 'adaptive', which divides the
        learning rate by 5 until it falls to 1e-6."""
        adaptive = self.solver == "sgd" and self.optimizer is None
        if not (adaptive and self.learning_rate == "adaptive"):
            if self.verbose:
                print(msg + " Stopping.")
            return True
        lr = self._optimizer.param_groups[0]["lr"]
        if lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._set_lr(lr / 5.0)
        if self.verbose:
            print(msg + f" Setting learning rate to {lr / 5.0:f}")
        return False

    def _update_no_improvement_count(self, X_val: Any, y_val: Any) -> None:
        if self.early_stopping:
            score = self._score(X_val, y_val)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            if score < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_state = [t._data.copy() for t in self._state()]
            elif not hasattr(self, "_best_state"):
                self._best_state = [t._data.copy() for t in self._state()]
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])

    def _score(self, X: np.ndarray, y: np.ndarray) -> float:
        pred = self._predict_dense(X)
        if np.issubdtype(pred.dtype, np.floating) and not np.isfinite(pred).all():
            return np.nan
        return float(self._score_function(y, pred))

    # The optimizer is pickled as its state_dict and rebuilt over the unpickled model:
    # pickling it as an object would cut the link between its (flat) buffers and the
    # parameters it updates.
    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        if "_optimizer" in state:
            state["_optimizer"] = state["_optimizer"].state_dict()
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        opt_state = state.pop("_optimizer", None)
        super().__setstate__(state)
        if opt_state is not None:
            self._optimizer = self._make_optimizer()
            self._optimizer.load_state_dict(opt_state)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
