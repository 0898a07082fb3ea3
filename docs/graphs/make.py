"""Draws the README's two compute graphs: python docs/graphs/make.py (needs stirpile[viz] and dot)."""
import stirpile as st
from stirpile import nn, viz
# the lectures' worked example: L(w, b) = 1/2 (y - sigma(w x + b))^2 + lambda w^2
w = st.tensor(0.5, requires_grad=True); b = st.tensor(-0.3, requires_grad=True)
x, y, lam = st.tensor(2.0), st.tensor(1.0), 0.1
z = w * x + b; u = st.sigmoid(z); l = 0.5 * (y - u) ** 2; r = w ** 2; L = l + lam * r
g = viz.graph(L, params={"w": w, "b": b})
g.render("docs/graphs/worked_example.png", "png")
st.manual_seed(0)
mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
loss = nn.functional.cross_entropy(mlp(st.randn(5, 4)), st.tensor([0, 2, 1, 1, 0]))
g2 = viz.graph(loss, params=dict(mlp.named_parameters()), show_saved=True)
g2.render("docs/graphs/mlp_loss.png", "png")

