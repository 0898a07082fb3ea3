"""stirpile.sklearn: scikit-learn's estimator checks, a grid search, and the semantics of
scikit-learn's MLP (the same trajectory from the same random_state)."""

import pickle
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import scipy.sparse as sp
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from stirpile import nn
from stirpile.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Checks we must skip, with the reason: none.
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=400, stratify=y, random_state=0
    )
    return X_train, y_train, X_test, y_test


def _max_diff(a, b):
    return max(
        np.abs(p - q).max() for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    )


def test_grid_search_pipeline_on_digits(digits):
    X, y, _, _ = digits
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(max_iter=40, learning_rate_init=0.01, random_state=0)),
        ]
    )
    grid = {"mlp__alpha": [1e-4, 1e-2], "mlp__hidden_layer_sizes": [(16,), (64,)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X[:900], y[:900])
    assert search.best_score_ > 0.9
    assert search.best_params_["mlp__alpha"] in grid["mlp__alpha"]
    assert search.best_params_["mlp__hidden_layer_sizes"] in grid["mlp__hidden_layer_sizes"]
    assert search.score(X[900:], y[900:]) > 0.9


def test_digits_accuracy_and_probabilities(digits):
    X, y, Xt, yt = digits
    clf = MLPClassifier((64,), max_iter=60, random_state=0).fit(X, y)
    assert clf.score(Xt, yt) > 0.9
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10 and clf.n_layers_ == 3
    p = clf.predict_proba(Xt)
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(clf.predict_log_proba(Xt), np.log(p))
    np.testing.assert_array_equal(clf.classes_[p.argmax(1)], clf.predict(Xt))
    assert [c.shape for c in clf.coefs_] == [(64, 64), (64, 10)]
    assert isinstance(clf.model_, nn.Module) and len(clf.loss_curve_) == clf.n_iter_
    assert clf.t_ == clf.n_iter_ * len(X)


def test_binary_string_labels(digits):
    X, y, _, _ = digits
    labels = np.where(y[:400] < 5, "low", "high")
    clf = MLPClassifier((16,), max_iter=50, learning_rate_init=0.01, random_state=0)
    clf.fit(X[:400], labels)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert list(clf.classes_) == ["high", "low"]
    assert clf.predict_proba(X[:5]).shape == (5, 2)
    assert clf.score(X[:400], labels) > 0.9


def test_multilabel():
    X, Y = make_multilabel_classification(300, 10, n_classes=4, random_state=0)
    clf = MLPClassifier((32,), max_iter=200, learning_rate_init=0.01, random_state=0).fit(X / 10, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 4
    pred = clf.predict(X / 10)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert (pred == Y).mean() > 0.8
    p = clf.predict_proba(X / 10)
    assert p.shape == Y.shape and ((p >= 0) & (p <= 1)).all()


def test_multi_output_regression():
    X, Y = make_regression(300, 8, n_targets=3, noise=0.1, random_state=0)
    Y = Y / Y.std(0)
    reg = MLPRegressor(
        hidden_layer_sizes=(32,), max_iter=300, random_state=0, learning_rate_init=0.01
    ).fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.out_activation_ == "identity"
    assert reg.predict(X).shape == (300, 3)
    assert reg.score(X, Y) > 0.9


def _same_trajectory(sk_cls, our_cls, X, y, **kw):
    ours = our_cls(random_state=0, **kw).fit(X, y)
    theirs = sk_cls(random_state=0, **kw).fit(X, y)
    return ours, theirs


@pytest.mark.parametrize(
    "kw",
    [
        # one full-batch plain gradient step from the same weights
        dict(solver="sgd", momentum=0.0, batch_size=300, shuffle=False, max_iter=1),
        # three shuffled epochs of Nesterov momentum, then of the invscaling schedule
        dict(solver="sgd", momentum=0.9, batch_size=50, max_iter=3),
        dict(
            solver="sgd",
            momentum=0.0,
            learning_rate="invscaling",
            batch_size=50,
            max_iter=3,
            activation="tanh",
        ),
    ],
)
def test_same_updates_as_sklearn_classifier(digits, kw):
    """scikit-learn's conventions (init, shuffling order, L2 on weights only, alpha/m
    scaling, loss definition): the same random_state gives the same weights and loss_."""
    X, y, _, _ = digits
    ours, theirs = _same_trajectory(
        SkClassifier,
        MLPClassifier,
        X[:300],
        y[:300],
        hidden_layer_sizes=(20,),
        alpha=0.01,
        learning_rate_init=0.05,
        **kw,
    )
    assert _max_diff(ours, theirs) < 1e-5
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)


def test_same_updates_as_sklearn_multilabel_and_regression():
    X, Y = make_multilabel_classification(200, 10, n_classes=4, random_state=0)
    kw = dict(
        hidden_layer_sizes=(20,),
        solver="sgd",
        batch_size=50,
        max_iter=3,
        alpha=0.01,
        learning_rate_init=0.05,
        activation="logistic",
    )
    ours, theirs = _same_trajectory(SkClassifier, MLPClassifier, X / 10, Y, **kw)
    assert _max_diff(ours, theirs) < 1e-5
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=1e-5)
    ours, theirs = _same_trajectory(
        SkRegressor,
        MLPRegressor,
        X / 10,
        1.5 * Y,
        early_stopping=True,
        validation_fraction=0.2,
        **kw,
    )
    assert _max_diff(ours, theirs) < 1e-5
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-5)


def test_adam_close_to_sklearn(digits):
    # PyTorch's Adam puts epsilon after the bias correction, scikit-learn's before it
    X, y, _, _ = digits
    ours, theirs = _same_trajectory(
        SkClassifier,
        MLPClassifier,
        X[:300],
        y[:300],
        hidden_layer_sizes=(20,),
        batch_size=50,
        max_iter=3,
    )
    assert _max_diff(ours, theirs) < 0.05
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-3)


def test_partial_fit_with_classes(digits):
    X, y, Xt, yt = digits
    clf = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    classes = np.unique(y)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:100], y[:100])
    for _ in range(15):
        for start in range(0, len(X), 200):
            clf.partial_fit(X[start : start + 200], y[start : start + 200], classes=classes)
    np.testing.assert_array_equal(clf.classes_, classes)
    assert clf.t_ == 15 * len(X)
    assert clf.score(Xt, yt) > 0.85
    with pytest.raises(ValueError, match="classes not in"):
        clf.partial_fit(X[:10], np.full(10, 11))


def test_warm_start_continues(digits):
    X, y, _, _ = digits
    clf = MLPClassifier((32,), max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    first = list(clf.loss_curve_)
    coefs = clf.coefs_
    clf.fit(X, y)
    assert clf.loss_curve_[:5] == first and len(clf.loss_curve_) == 10
    assert clf.t_ == 10 * len(X)
    assert clf.loss_curve_[-1] < first[-1]
    assert not np.array_equal(coefs[0], clf.coefs_[0])
    cold = MLPClassifier((32,), max_iter=5, random_state=0).fit(X, y)
    cold.fit(X, y)  # without warm_start, fit starts over
    assert cold.loss_curve_ == first


def test_early_stopping(digits):
    X, y, _, _ = digits
    clf = MLPClassifier(
        (32,), max_iter=200, early_stopping=True, n_iter_no_change=3, random_state=0
    ).fit(X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(clf.validation_scores_) > 0.9
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        clf.partial_fit(X, y)


def test_convergence_warning_and_tol_stop(digits):
    X, y, _, _ = digits
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(2\) reached"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((8,), max_iter=500, tol=0.5, n_iter_no_change=2, random_state=0).fit(
            X, y
        )
    assert clf.n_iter_ < 500


def test_pickle_round_trip(digits):
    X, y, Xt, _ = digits
    clf = MLPClassifier((16,), max_iter=10, random_state=0, batch_norm=True).fit(X, y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(Xt), clf.predict_proba(Xt))
    # the unpickled optimizer drives the unpickled model, from the same state
    back.partial_fit(X, y)
    clf.partial_fit(X, y)
    for p, q in zip(back.coefs_ + back.intercepts_, clf.coefs_ + clf.intercepts_):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(back.coefs_[0], pickle.loads(pickle.dumps(back)).coefs_[0] + 1)


def test_same_random_state_same_coefs(digits):
    X, y, _, _ = digits
    kw = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=3, dropout=0.2)
    a, b = MLPClassifier(**kw).fit(X, y), MLPClassifier(**kw).fit(X, y)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(p, q)
    c = MLPClassifier(**{**kw, "random_state": 4}).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])


def test_our_extras(digits):
    X, y, Xt, yt = digits
    clf = MLPClassifier(
        (64,),
        max_iter=30,
        random_state=0,
        dropout=0.1,
        batch_norm=True,
        optimizer="AdamW",
        learning_rate_init=3e-3,
    ).fit(X, y)
    kinds = [type(m).__name__ for m in clf.model_]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert type(clf._optimizer).__name__ == "AdamW"
    assert clf.score(Xt, yt) > 0.9
    np.testing.assert_array_equal(clf.predict(Xt), clf.predict(Xt))  # eval: no dropout


def test_sparse_input_is_densified(digits):
    X, y, Xt, _ = digits
    dense = MLPClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    sparse = MLPClassifier((16,), max_iter=5, random_state=0).fit(sp.csr_matrix(X), y)
    np.testing.assert_array_equal(dense.predict_proba(Xt), sparse.predict_proba(sp.csc_matrix(Xt)))


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(solver="lbfgs"), "solver='lbfgs' is not supported"),
        (dict(solver="newton"), "'solver' parameter of MLPClassifier must be one of"),
        (dict(activation="gelu"), "'activation' parameter of MLPClassifier must be one of"),
        (dict(learning_rate="cosine"), "'learning_rate' parameter"),
        (dict(optimizer="Adamm"), "name of a stirpile.optim optimizer.*got 'Adamm'"),
        (dict(optimizer="lr_scheduler"), "got 'lr_scheduler'"),
        (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes must be > 0"),
        (dict(batch_size=0), "batch_size must be 'auto' or an int"),
        (dict(alpha=-1.0), "Invalid value for 'alpha'"),
        (dict(dropout=1.0), "Invalid value for 'dropout'"),
        (dict(validation_fraction=1.0), "Invalid value for 'validation_fraction'"),
    ],
)
def test_parameter_errors(digits, kw, match):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**kw).fit(X[:50], y[:50])


def test_other_errors(digits):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'loss' parameter of MLPRegressor"):
        MLPRegressor(loss="poisson").fit(X[:50], y[:50])
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X[:5])
    clf = MLPClassifier((8,), max_iter=2).fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:5, :10])
    with pytest.raises(ValueError, match="warm_start can only be used"):
        clf.set_params(warm_start=True).fit(X[:100], y[:100] % 3)
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPRegressor(early_stopping=True, validation_fraction=0.05).fit(X[:20], y[:20])


def test_feature_names_with_pandas(digits):
    pd = pytest.importorskip("pandas")
    X, y, Xt, _ = digits
    cols = [f"px{i}" for i in range(X.shape[1])]
    scaler = StandardScaler().set_output(transform="pandas")
    pipe = Pipeline([("scale", scaler), ("mlp", MLPClassifier((16,), max_iter=5))])
    pipe.fit(pd.DataFrame(X, columns=cols), y)
    assert list(pipe["mlp"].feature_names_in_) == cols
    assert pipe.predict(pd.DataFrame(Xt, columns=cols)).shape == (len(Xt),)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    import importlib

    for name in [
        m for m in sys.modules if m == "stirpile.sklearn" or m.startswith("stirpile.sklearn.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install 'stirpile\[sklearn\]'"):
        importlib.import_module("stirpile.sklearn")
