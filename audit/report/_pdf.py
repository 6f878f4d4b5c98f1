"""The model card as PDF: headless Chromium prints the HTML card with its print stylesheet."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .._errors import AuditError

__all__ = ["find_chromium", "html_to_pdf", "CHROMIUM_ENV"]

#: Environment variable naming the Chromium (or Chrome) executable to print with.
CHROMIUM_ENV = "AUDIT_CHROMIUM"
_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The Chromium executable: ``$AUDIT_CHROMIUM`` when set (None if it is not executable), else one on PATH.

    Examples
    --------
    >>> import os
    >>> os.environ[CHROMIUM_ENV] = "/nonexistent/chromium"
    >>> find_chromium() is None
    True
    >>> del os.environ[CHROMIUM_ENV]
    """
    chosen = os.environ.get(CHROMIUM_ENV)
    if chosen:
        return chosen if os.path.isfile(chosen) and os.access(chosen, os.X_OK) else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html: Path, pdf: Path, *, chromium: str, timeout: float = 180.0) -> Path:
    """Print ``html`` (a file) to ``pdf`` with headless Chromium, atomically (temporary file, then rename).

    Chromium runs with a throw-away profile, no header or footer lines, and the card's own print stylesheet
    (A4, sections kept whole). Raises :class:`AuditError` when Chromium fails.
    """
    html, pdf = Path(html).resolve(), Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=pdf.parent, prefix=f".{pdf.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with tempfile.TemporaryDirectory(prefix="audit-chromium-") as profile:
            flags = ["--headless", "--disable-gpu", "--no-first-run", "--disable-extensions",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-pdf-header-footer", f"--user-data-dir={profile}", f"--print-to-pdf={tmp}"]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
            try:
                done = subprocess.run([chromium, *flags, html.as_uri()], capture_output=True, text=True,
                                      timeout=timeout)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise AuditError(f"model_card.pdf: Chromium ({chromium}) could not print {html.name}: {exc}. "
                                 f"Set {CHROMIUM_ENV} to a working Chromium, or drop --pdf.") from None
        with open(tmp, "rb") as fh:
            head = fh.read(5)
        if done.returncode != 0 or head != b"%PDF-":
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise AuditError(f"model_card.pdf: Chromium ({chromium}) exited with code {done.returncode} "
                             f"printing {html.name}: {last}. Set {CHROMIUM_ENV} to a working Chromium, or drop --pdf.")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, pdf)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return pdf


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
