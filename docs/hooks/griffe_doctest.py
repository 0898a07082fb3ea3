"""A griffe extension for the API site: our docstrings as Markdown.

Our docstrings are free text with math and runnable doctest examples, written with
reStructuredText habits. Read as Markdown, a doctest's lines run together into a paragraph
and its outputs (``[1][0]``, ``[0.0, 0.0]``) parse as reference links. This extension,
run by mkdocstrings when griffe loads each object (it touches only the rendered text; the
source and the doctests pytest runs are untouched):

- fences each doctest block (``>>>``/``...`` lines and their output, up to a blank line)
  as a ``pycon`` code block;
- turns Sphinx roles (``:func:`fit```, ``:class:`~x.Y```) into inline code, and a
  paragraph's closing ``::`` (reST's literal-block marker) into ``:``;
- hides the top-level dtype aliases that shadow builtins (``stirpile.bool``, ``float``,
  ``int``, ``range``) from griffe's name resolution, which looks names up in the
  enclosing packages: otherwise every ``bool`` annotation in the package would render
  as (and link to) ``stirpile.backend.bool_``.
"""

from __future__ import annotations

import builtins
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|const):`~?([^`]+)`")
_PROMPT = re.compile(r"^(\s*)>>>( |$)")


def fence_doctests(text: str) -> str:
    """``text`` with each doctest block fenced as ``pycon`` and Sphinx roles as code."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _PROMPT.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent = m.group(1)
        block = []
        while i < len(lines) and lines[i].strip():  # a doctest ends at a blank line
            block.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
            i += 1
        if out and out[-1].strip():
            out.append("")
        out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
        if i < len(lines) and lines[i].strip():
            out.append("")
    text = "\n".join(out)
    # roles outside the fences only: split on the fences, keep the odd (fenced) parts as is
    parts = re.split(r"(```pycon\n.*?```)", text, flags=re.S)
    return "".join(p if p.startswith("```pycon") else _prose(p) for p in parts)


def _prose(text: str) -> str:
    text = _ROLE.sub(r"`\1`", text)
    text = re.sub(r"(?m)^(\s*)::$", r"\1", text)  # a lone "::" vanishes, as in reST
    text = re.sub(r"(?m)(\S)[ \t]+::$", r"\1", text)  # "e.g. ::" -> "e.g."
    return re.sub(r"(?m)(\S)::$", r"\1:", text)  # "as follows::" -> "as follows:"


class DoctestFences(griffe.Extension):
    """Docstrings through :func:`fence_doctests`; builtin-named aliases out of ``stirpile``."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.path == "stirpile":
            for name in [n for n in pkg.members if hasattr(builtins, n)]:
                pkg.del_member(name)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
