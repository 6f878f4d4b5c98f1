"""The Jinja2 environment: autoescaped HTML, display filters, template lookup."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from ..checks._finding import fmt_p as _fmt_p
from ..measures._regulatory import documented
from ._views import axis_top, bar_width

__all__ = ["template_dir", "environment", "fmt_number", "fmt_p", "axis_top"]


def template_dir() -> Path:
    """Folder of the bundled templates: inside the installed package, or the source tree's ``templates/``."""
    packaged = Path(__file__).resolve().parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "templates"
    if source.is_dir():
        return source
    raise FileNotFoundError("the model card templates are missing from this installation of rai-audit")


def fmt_number(value: Any, digits: int = 3) -> str:
    """A number for display: fixed decimals, "—" for null.

    Examples
    --------
    >>> fmt_number(0.12345), fmt_number(None), fmt_number(12)
    ('0.123', '—', '12')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _fmt_ci(entry: dict[str, Any] | None, digits: int = 3) -> str:
    if not entry or entry.get("ci_low") is None or entry.get("ci_high") is None:
        return ""
    return f"{fmt_number(entry['ci_low'], digits)} – {fmt_number(entry['ci_high'], digits)}"


def fmt_p(value: float | None, name: str = "") -> str:
    """A p-value for display, as the findings' messages print it (:func:`audit.checks._finding.fmt_p`):
    a table cell holds ``< 0.0001`` or two significant digits; ``name`` makes it a phrase ("adjusted p = 0.012").

    Examples
    --------
    >>> fmt_p(0.00001), fmt_p(0.0123), fmt_p(None), fmt_p(0.2, "adjusted p")
    ('< 0.0001', '0.012', '—', 'adjusted p = 0.20')
    """
    return _fmt_p(value, name=name)


def _md(value: Any) -> str:
    # Markdown tables break on pipes, and GitHub renders raw HTML: neutralise both.
    text = "" if value is None else str(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\n", " "))


@lru_cache(maxsize=8)
def environment(extra_dir: str | None = None) -> jinja2.Environment:
    """Environment with autoescaping for HTML and XML templates, plain text for Markdown."""
    dirs = [extra_dir] if extra_dir else []
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*dirs, str(template_dir())]),
        # Escaping is on unless the template is Markdown or text, so a user's own template is safe by default.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml", "html.j2", "xml.j2"),
                                            disabled_extensions=("md", "md.j2", "txt", "txt.j2"), default=True),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = fmt_number
    env.filters["ci"] = _fmt_ci
    env.filters["pvalue"] = fmt_p
    env.filters["md"] = _md
    env.filters["pct"] = lambda v: "—" if v is None else f"{100 * v:.1f}%"
    env.filters["axis_top"] = axis_top
    env.filters["g"] = lambda v: "—" if v is None else f"{v:g}"
    env.filters["bar_width"] = bar_width
    # `x is documented`: the checklist's own rule (a "None", blank or "TBD" report text documents nothing),
    # so a template never shows a placeholder as if it were the owner's text.
    env.tests["documented"] = documented
    return env
