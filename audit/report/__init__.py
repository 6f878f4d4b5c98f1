"""Renderers of the findings document, and safe file writing."""

from ._exports import render_hf_card, render_mct, to_mct
from ._io import atomic_write_bytes, atomic_write_text
from ._render import render_html, render_junit, render_markdown

__all__ = ["render_html", "render_markdown", "render_junit", "render_mct", "render_hf_card", "to_mct",
           "atomic_write_bytes", "atomic_write_text"]
