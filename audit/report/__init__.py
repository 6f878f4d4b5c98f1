"""Renderers of the findings document, and safe file writing."""

from ._io import atomic_write_bytes, atomic_write_text
from ._render import render_html, render_junit, render_markdown

__all__ = ["render_html", "render_markdown", "render_junit", "atomic_write_bytes", "atomic_write_text"]
