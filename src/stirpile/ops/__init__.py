"""The primitives: every differentiable operation as an ``Op`` with its forward and
backward side by side, grouped by kind (elementwise, activation, reduce, linalg, shape,
index). ``dual`` holds the few helpers backward formulas need on arrays and tensors."""
