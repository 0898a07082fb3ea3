"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn estimators trained by stirpile."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._mlp import BaseMLP, _validate_data

_PARAMS_DOC = """
    Parameters (scikit-learn's, with its defaults and meanings):
        hidden_layer_sizes: the width of each hidden layer, ``(100,)``.
        activation: hidden activation, 'identity', 'logistic', 'tanh' or 'relu'.
        solver: 'sgd' (``optim.SGD``, ``momentum``, ``nesterovs_momentum``) or 'adam'
            (``optim.Adam``, ``beta_1``, ``beta_2``, ``epsilon``; PyTorch's Adam adds
            ``epsilon`` to the bias-corrected root, scikit-learn's to the raw one).
            'lbfgs' is refused (ValueError).
        alpha: L2 penalty on the weights (not the biases), applied as scikit-learn
            does: each batch of ``m`` samples adds ``alpha / (2 m) * sum ||W||^2``.
        batch_size: ``'auto'`` = ``min(200, n_samples)``.
        learning_rate: 'constant', 'invscaling' (``lr = lr0 / (t + 1)^power_t``, ``t``
            the samples seen, updated each epoch) or 'adaptive' (divide by 5 when the
            loss stalls, stop below 1e-6); used with solver='sgd' only.
        learning_rate_init, power_t, max_iter (epochs), shuffle, random_state, tol,
        verbose, warm_start, momentum, nesterovs_momentum, early_stopping,
        validation_fraction, beta_1, beta_2, epsilon, n_iter_no_change: as in
        scikit-learn. ``max_fun`` is accepted and unused (it belongs to lbfgs).

    Parameters (ours):
        dropout: ``nn.Dropout(dropout)`` after each hidden activation (masks drawn
            from ``random_state``).
        batch_norm: ``nn.BatchNorm1d`` between each hidden ``Linear`` and activation.
        optimizer: the name of a ``stirpile.optim`` optimizer ("AdamW", "RMSprop", …)
            built with ``lr=learning_rate_init`` and its defaults; overrides ``solver``.

    The network is ``model_`` (an ``nn.Sequential``), trained and evaluated in
    float32 whatever the dtype of ``X`` (outputs are returned as float64); its
    weights start from scikit-learn's Glorot-uniform initialisation drawn from
    ``random_state`` in scikit-learn's order. Sparse ``X`` is densified
    (``.toarray()``), which costs ``n_samples * n_features`` floats of memory.

    Attributes: ``loss_``, ``loss_curve_``, ``best_loss_``, ``validation_scores_``,
    ``best_validation_score_``, ``n_iter_`` (epochs of the last ``fit``), ``t_``,
    ``n_features_in_``, ``feature_names_in_``, ``n_layers_``, ``n_outputs_``,
    ``out_activation_``, ``coefs_`` and ``intercepts_`` (NumPy copies of the weights
    in scikit-learn's layout), ``model_``.
"""


def _init(self: Any, kw: dict) -> None:
    for name, value in kw.items():
        if name not in ("self", "__class__"):
            setattr(self, name, value)


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier: softmax + cross-entropy for several
    classes, a sigmoid + binary log loss for two classes and for multi-label ``y``
    (a 0/1 indicator matrix).

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=500, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    __doc__ = (__doc__ or "") + _PARAMS_DOC
    _score_function = staticmethod(accuracy_score)

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        batch_norm: bool = False,
        optimizer: str | None = None,
    ) -> None:
        _init(self, locals())

    def _is_classifier(self) -> bool:
        return True

    def _set_out_activation(self) -> None:
        multiclass = self._label_binarizer.y_type_ == "multiclass"
        self.out_activation_ = "softmax" if multiclass else "logistic"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple:
        X, y = _validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in "
                        f"the previous call to fit. Previously got {self.classes_}, `y` "
                        f"has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _val_targets(self, y: np.ndarray) -> np.ndarray:
        return self._label_binarizer.inverse_transform(y)

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train on ``X`` (n_samples, n_features) and labels ``y`` (n_samples,) or an
        indicator matrix (n_samples, n_classes) for multi-label."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``X, y``; ``classes`` (all labels) is required on the first call."""
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True)

    def _predict_dense(self, X: np.ndarray) -> np.ndarray:
        p = self._forward(X)
        return self._label_binarizer.inverse_transform(p.ravel() if self.n_outputs_ == 1 else p)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each row (or the label indicator rows, multi-label)."""
        check_is_fitted(self)
        return self._predict_dense(self._check_X(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n_samples, n_classes), columns in ``classes_`` order."""
        check_is_fitted(self)
        p = self._forward(self._check_X(X))
        if self.n_outputs_ == 1:
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """``log(predict_proba(X))``."""
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor: identity output, half squared error
    (``y`` of shape (n_samples,) or (n_samples, n_outputs)).

    >>> X = np.linspace(-1, 1, 64).reshape(-1, 1)
    >>> y = 2 * X.ravel()
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    >>> reg.fit(X, y).score(X, y) > 0.95
    True
    """

    __doc__ = (
        (__doc__ or "")
        + _PARAMS_DOC
        + """
    ``loss`` must be 'squared_error' (scikit-learn's 'poisson' is not implemented).
    ``loss_`` is scikit-learn's: half the squared error averaged over samples and outputs.
"""
    )
    _score_function = staticmethod(r2_score)

    def __init__(
        self,
        loss: str = "squared_error",
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        dropout: float = 0.0,
        batch_norm: bool = False,
        optimizer: str | None = None,
    ) -> None:
        _init(self, locals())

    def _is_classifier(self) -> bool:
        return False

    def _check_params(self) -> list[int]:
        if self.loss != "squared_error":
            raise ValueError(
                f"The 'loss' parameter of MLPRegressor must be 'squared_error' "
                f"(scikit-learn's 'poisson' is not implemented), got {self.loss!r}."
            )
        return super()._check_params()

    def _set_out_activation(self) -> None:
        self.out_activation_ = "identity"

    def _validate_input(self, X: Any, y: Any, incremental: bool, reset: bool) -> tuple:
        X, y = _validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _val_targets(self, y: np.ndarray) -> np.ndarray:
        return y

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train on ``X`` (n_samples, n_features) and targets ``y``."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``X, y``."""
        return self._fit(X, y, incremental=True)

    def _predict_dense(self, X: np.ndarray) -> np.ndarray:
        p = self._forward(X)
        return p.ravel() if p.shape[1] == 1 else p

    def predict(self, X: Any) -> np.ndarray:
        """The predicted targets, (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict_dense(self._check_X(X))
