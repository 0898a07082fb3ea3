"""``History``: one row of metrics per epoch, written as CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any


class History:
    """Per-epoch records (``epoch``, ``train_loss``, ``val_acc``, ``lr``, ``time``, …).

    >>> h = History()
    >>> h.append({"epoch": 1, "train_loss": 0.5})
    >>> h["train_loss"], h.last["epoch"]
    ([0.5], 1)
    """

    def __init__(self, rows: list[dict] | None = None) -> None:
        self.rows: list[dict[str, Any]] = list(rows or [])

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def last(self) -> dict[str, Any]:
        return self.rows[-1] if self.rows else {}

    def columns(self) -> list[str]:
        cols: list[str] = []
        for r in self.rows:
            cols += [k for k in r if k not in cols]
        return cols

    def save(self, out_dir: str | os.PathLike) -> None:
        """Write ``history.csv`` and ``history.json`` into ``out_dir`` (atomically: an
        interrupt leaves the old files and no temporary ones)."""
        from ..io import atomic_write

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        f = io.StringIO(newline="")
        w = csv.DictWriter(f, fieldnames=self.columns())
        w.writeheader()
        w.writerows(self.rows)
        atomic_write(out / "history.csv", f.getvalue())
        atomic_write(out / "history.json", json.dumps(self.rows, indent=1))
