"""Renderers of the findings document, and safe file writing."""

from __future__ import annotations

from importlib import import_module as _import_module
from typing import TYPE_CHECKING, Any

from ..inputs._io import atomic_write_bytes, atomic_write_text

if TYPE_CHECKING:
    from ._exports import render_hf_card, render_mct, to_mct
    from ._render import render_html, render_junit, render_markdown

# The renderers load jinja2 and the templates; `audit init` and `audit validate` only write files or
# nothing, so the renderers are imported on first use.
_LAZY = {"render_html": "._render", "render_markdown": "._render", "render_junit": "._render",
         "render_mct": "._exports", "render_hf_card": "._exports", "to_mct": "._exports"}

__all__ = ["render_html", "render_markdown", "render_junit", "render_mct", "render_hf_card", "to_mct",
           "atomic_write_bytes", "atomic_write_text"]


def __getattr__(name: str) -> Any:
    """Import a renderer on first access (PEP 562) and cache it in the package's namespace."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
