"""Without scikit-learn (an optional extra) this package cannot be imported: don't
collect its doctests then."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("sklearn") else ["*.py"]
