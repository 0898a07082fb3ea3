"""scikit-learn estimators backed by stirpile: :class:`MLPClassifier`, :class:`MLPRegressor`.

Drop-in for ``sklearn.neural_network``'s estimators of the same names (same
parameters, attributes and methods; see each class), usable in ``Pipeline`` and
``GridSearchCV``, trained with stirpile's autograd and optimizers in float32.
Needs the optional extra: ``pip install 'stirpile[sklearn]'``.
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as e:  # one line naming the extra, not a traceback into scikit-learn
    raise ImportError("stirpile.sklearn needs scikit-learn: pip install 'stirpile[sklearn]'") from e

from .estimators import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
