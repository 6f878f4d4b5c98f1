"""The result of an audit: the findings document and, when one was trained, the model."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings._document import dumps
from ._errors import EXIT_GATE_FAILED, EXIT_OK, AuditError
from .report._mlflow import MlflowRun, log_audit
from ._names import FORMATS, report_folder_name
from .report import (atomic_write_bytes, atomic_write_text, render_hf_card, render_html, render_junit,
                     render_markdown, render_mct)
from .report._pdf import CHROMIUM_ENV, find_chromium, html_to_pdf

__all__ = ["AuditResult", "FORMATS", "report_folder_name"]

@dataclass(frozen=True)
class AuditResult:
    """Findings of one audit. Reading it computes nothing; its writers render the document.

    Attributes
    ----------
    document : dict
        The findings document (design §4); treat as read-only.
    model_bytes : bytes or None
        The trained model as ``.skops`` bytes, when the audit trained it.
    model : object
        The fitted model (for further analysis in Python); not serialised.
    template : str or None
        A user's model card template (``report.template``), used by the HTML writers.
    inconclusive : {"fail", "pass"}
        The exit code of an inconclusive gate (``gate.inconclusive``).
    mitigated_models : dict
        ``.skops`` bytes of mitigated models by file name (``mitigation.save``); never the audited model.
    """

    document: dict[str, Any]
    model_bytes: bytes | None = None
    model: Any = field(default=None, repr=False, compare=False)
    template: str | None = None
    mitigated_models: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    #: What an inconclusive gate counts as for the exit code (config ``gate.inconclusive``).
    inconclusive: str = "fail"

    @property
    def gate(self) -> str:
        """``"pass"``, ``"fail"`` or ``"inconclusive"``."""
        return self.document["gate"]

    @property
    def exit_code(self) -> int:
        """0 when every blocking check was shown within its threshold (or an inconclusive gate counts as a
        pass by ``gate.inconclusive``), else 1."""
        if self.gate == "pass" or (self.gate == "inconclusive" and self.inconclusive == "pass"):
            return EXIT_OK
        return EXIT_GATE_FAILED

    @property
    def findings(self) -> list[dict[str, Any]]:
        return self.document["findings"]

    def to_json(self, path: str | Path) -> Path:
        """Write ``findings.json`` atomically."""
        return atomic_write_text(Path(path), dumps(self.document))

    def to_html(self, path: str | Path, *, template: str | Path | None = None) -> Path:
        """Write the HTML model card atomically (with ``template``, else the config's, else ours)."""
        return atomic_write_text(Path(path), render_html(self.document, template=template or self.template))

    def to_markdown(self, path: str | Path) -> Path:
        """Write ``summary.md`` atomically."""
        return atomic_write_text(Path(path), render_markdown(self.document))

    def to_junit(self, path: str | Path) -> Path:
        """Write ``junit.xml`` atomically."""
        return atomic_write_text(Path(path), render_junit(self.document))

    def to_pdf(self, path: str | Path, *, chromium: str | None = None) -> Path:
        """Print the model card to PDF with headless Chromium (its print stylesheet: A4, no header lines).

        ``chromium`` defaults to :func:`audit.report._pdf.find_chromium`; without one, raises
        :class:`AuditError` saying how to install it.
        """
        binary = chromium or find_chromium()
        if binary is None:
            raise AuditError(f"Writing model_card.pdf needs Chromium: install Debian's `chromium` package or set "
                             f"{CHROMIUM_ENV} to a Chromium or Chrome executable.")
        with tempfile.TemporaryDirectory(prefix="audit-card-") as folder:
            html = self.to_html(Path(folder) / "model_card.html")
            return html_to_pdf(html, Path(path), chromium=binary)

    def write(self, out_dir: str | Path, *, formats: tuple[str, ...] = tuple(FORMATS)) -> dict[str, Path]:
        """Write the chosen formats (and the trained model) into ``out_dir/<audit name>/``.

        Every file is rendered in memory first and then renamed into place, so
        a failure leaves the previous report whole.
        """
        folder = Path(out_dir) / report_folder_name(self.document["audit"]["name"])
        rendered = {fmt: self.render(fmt) for fmt in formats}
        written = {}
        if self.model_bytes is not None:
            written["model"] = atomic_write_bytes(folder / "model.skops", self.model_bytes)
        for name, data in self.mitigated_models.items():
            written[name] = atomic_write_bytes(folder / name, data)
        for fmt, text in rendered.items():
            written[fmt] = atomic_write_text(folder / FORMATS[fmt], text)
        return written

    def render(self, fmt: str) -> str:
        """The text of one output format (a key of ``FORMATS``)."""
        renderers = {"json": dumps, "md": render_markdown, "junit": render_junit, "mct": render_mct,
                     "hf": render_hf_card}
        if fmt == "html":
            return render_html(self.document, template=self.template)
        if fmt not in renderers:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        return renderers[fmt](self.document)

    def log_to_mlflow(self, *, tracking_uri: str, experiment: str | None = None, run_name: str | None = None,
                      files: dict[str, Path] | None = None) -> MlflowRun:
        """Log this audit as an MLflow run: key metrics and gaps, parameters, and the reports as artifacts.

        ``files`` are report files already written (``write`` returns them); the model card, findings and
        JUnit report are rendered to a temporary folder when not among them. The trained model is not logged.
        Needs the ``mlflow`` extra.

        Examples
        --------
        >>> run = result.log_to_mlflow(tracking_uri="file:///tmp/mlruns")  # doctest: +SKIP
        """
        chosen = {fmt: Path(p) for fmt, p in (files or {}).items() if fmt in FORMATS}
        with tempfile.TemporaryDirectory() as tmp:
            for fmt in ("html", "json", "junit"):
                if fmt not in chosen:
                    chosen[fmt] = atomic_write_text(Path(tmp) / FORMATS[fmt], self.render(fmt))
            return log_audit(self.document, files=chosen, tracking_uri=tracking_uri, experiment=experiment,
                             run_name=run_name)

    def _repr_html_(self) -> str:
        return render_html(self.document, template=self.template)
