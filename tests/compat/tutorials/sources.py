"""The tutorials' sources, read at test time, and a program's edits applied to them.

The sources are not in this repository (``README.md`` here says why). ``$STIRPILE_TUTORIALS``
names one folder, or several separated by ``os.pathsep``, holding for each source
repository ``owner+name`` (``pytorch/examples`` → ``pytorch+examples``) either a git
directory (``owner+name/`` itself, ``owner+name/repo``, ``owner+name/repo/.git`` or
``owner+name/.git``; a file is read at the entry's commit with ``git --git-dir DIR show
COMMIT:PATH``) or plain files (``owner+name/PATH``, taken as they are). The first
folder that has the file wins.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

ENV = "STIRPILE_TUTORIALS"
README = "tests/compat/tutorials/README.md"


class SourceMissing(LookupError):
    """A program's source is not where ``$STIRPILE_TUTORIALS`` points (a skip)."""


class EditFailed(ValueError):
    """An edit does not match its source exactly once (a failure)."""


def roots() -> tuple[Path, ...]:
    """The folders ``$STIRPILE_TUTORIALS`` names."""
    return tuple(Path(p) for p in os.environ.get(ENV, "").split(os.pathsep) if p)


def _git_dirs(folder: Path) -> list[Path]:
    candidates = (folder, folder / "repo", folder / "repo" / ".git", folder / ".git")
    return [d for d in candidates if (d / "HEAD").is_file() and (d / "objects").is_dir()]


def _git_show(git_dir: Path, commit: str, path: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"],
            capture_output=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):  # no git here: try plain files
        return None
    return out.stdout.decode("utf-8") if out.returncode == 0 else None


@functools.cache
def read(repo: str, commit: str, path: str, where: tuple[Path, ...]) -> str:
    """The text of ``path`` in ``repo`` at ``commit``, from the folders ``where``;
    :class:`SourceMissing` (a one-line reason) when none has it."""
    if not where:
        raise SourceMissing(
            f"${ENV} is not set: the tutorials' sources are read from it at test time, "
            f"not stored here (see {README})"
        )
    folder_name = repo.replace("/", "+")
    for root in where:
        folder = root / folder_name
        for git_dir in _git_dirs(folder):
            text = _git_show(git_dir, commit, path)
            if text is not None:
                return text
        if (folder / path).is_file():
            return (folder / path).read_text(encoding="utf-8")
    raise SourceMissing(
        f"{repo}@{commit[:7]}:{path} is not under ${ENV}={os.pathsep.join(map(str, where))} "
        f"(a {folder_name}/ git directory or plain files; see {README})"
    )


def notebook_code(text: str, skip_cells: tuple[int, ...] = ()) -> str:
    """A notebook's code cells in order, each after a ``# --- cell N`` line (N counts
    code cells from 1), without the cells in ``skip_cells``."""
    cells = [c for c in json.loads(text)["cells"] if c["cell_type"] == "code"]
    out = []
    for i, cell in enumerate(cells, 1):
        if i not in skip_cells:
            src = cell["source"]
            out.append(f"# --- cell {i}\n{''.join(src) if isinstance(src, list) else src}\n")
    return "".join(out)


def _describe(edit: Any) -> str:
    if isinstance(edit, tuple):
        return f"{edit[0]!r} -> {edit[1]!r}"
    return repr(edit)


def _line(name: str, k: int, edit: Any, lines: list[str], prefix: str) -> int:
    hits = [i for i, line in enumerate(lines) if line.startswith(prefix)]
    if len(hits) != 1:
        raise EditFailed(
            f"{name}: edit #{k} ({_describe(edit)}): {len(hits)} lines start with "
            f"{prefix!r}, expected exactly one (has the source changed?)"
        )
    return hits[0]


def apply_edits(name: str, text: str, edits: tuple) -> str:
    """``text`` with ``edits`` (see ``programs.py``) applied in order; :class:`EditFailed`
    naming program ``name`` and the edit when one does not match exactly once."""
    for k, edit in enumerate(edits, 1):
        if hasattr(edit, "text"):  # Append
            text += edit.text
        elif hasattr(edit, "first"):  # Cut
            lines = text.splitlines(keepends=True)
            start = _line(name, k, edit, lines, edit.first)
            stop = len(lines) - 1 if edit.last is None else _line(name, k, edit, lines, edit.last)
            if stop < start:
                raise EditFailed(f"{name}: edit #{k} ({_describe(edit)}): ends before it starts")
            text = "".join(lines[:start] + lines[stop + 1 :])
        else:
            old, new = edit
            hits = [m.start() for m in re.finditer("^" + re.escape(old), text, re.MULTILINE)]
            if len(hits) != 1:
                raise EditFailed(
                    f"{name}: edit #{k} ({_describe(edit)}) matches {len(hits)} times at a "
                    "line start, expected exactly once (has the source changed?)"
                )
            text = text[: hits[0]] + new + text[hits[0] + len(old) :]
    return text


def program_text(name: str, program: Any, where: tuple[Path, ...]) -> str:
    """Program ``name`` as stirpile runs it: its source, edited."""
    text = read(program.repo, program.commit, program.path, where)
    if program.path.endswith(".ipynb"):
        text = notebook_code(text, program.skip_cells)
    return apply_edits(name, text, program.edits)


def module_texts(program: Any, where: tuple[Path, ...]) -> dict[str, str]:
    """The program's ``modules``: importable name -> text (same repository and commit)."""
    return {
        module: read(program.repo, program.commit, path, where)
        for module, path in program.modules.items()
    }
