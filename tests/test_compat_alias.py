"""``python -m stirpile.compat SCRIPT``: a PyTorch script runs on stirpile unedited."""

from __future__ import annotations

import subprocess
import sys

import pytest

import stirpile
import stirpile.compat as compat

SCRIPT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(0)
x = torch.randn(32, 4)
y = x[:, :3].argmax(1)  # learnable labels
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
opt = torch.optim.Adam(model.parameters(), lr=0.05)
first = None
for _ in range(30):
    for xb, yb in DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True):
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
print(type(loss).__module__, f"{first:.4f}", f"{loss:.4f}")
"""


def test_imports_map_to_stirpile_modules_and_are_undone():
    before = sys.modules.get("torch")
    with compat.torch_is_stirpile():
        import torch
        import torch.nn.functional as F
        from torch.utils.data import DataLoader

        assert torch is stirpile and F is stirpile.nn.functional
        assert DataLoader is stirpile.utils.data.DataLoader
    assert sys.modules.get("torch") is before


def test_missing_module_fails_like_a_missing_module():
    with compat.torch_is_stirpile(), pytest.raises(ModuleNotFoundError):
        import torch.no_such_module  # noqa: F401


def test_a_script_trains_unedited(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    out = subprocess.run([sys.executable, "-m", "stirpile.compat", str(path)],
                         capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert out[0] == "stirpile.tensor"
    assert float(out[2]) < float(out[1]) / 2  # it learned
