"""The result of an audit: the findings document and, when one was trained, the model; and what writing it wrote."""

from __future__ import annotations

import html

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

from .findings._document import dumps
from .findings._history import record_run
from ._errors import EXIT_GATE_FAILED, EXIT_OK, AuditError
from .report._history_page import write_history_index
from .report._mlflow import MlflowRun, MlflowSettings, default_tracking_uri, log_audit, resolve_tracking_uri
from ._names import CHALLENGERS_FOLDER, FORMATS, report_folder_name
from .report import atomic_write_text, render_hf_card, render_html, render_junit, render_markdown, render_mct
from .inputs._io import ReportSet, check_writable_folder
from .inputs._predictions import PREDICTIONS_NAME
from .report._pdf import CHROMIUM_ENV, find_chromium, html_to_pdf

__all__ = ["AuditResult", "Written", "MlflowSettings", "FORMATS", "report_folder_name", "PDF_NAME"]

#: File name of the printed model card.
PDF_NAME = "model_card.pdf"
_NO_CHROMIUM = (f"{PDF_NAME} skipped: no Chromium found (install Debian's `chromium` package or set "
                f"{CHROMIUM_ENV} to a Chromium executable).")


def _size(n: int) -> str:
    """A file size for a progress line.

    Examples
    --------
    >>> _size(512), _size(35_200_000)
    ('512 bytes', '35.2 MB')
    """
    if n < 1_000:
        return f"{n} bytes"
    if n < 1_000_000:
        return f"{n / 1_000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


@dataclass(frozen=True)
class Written:
    """What :meth:`AuditResult.write` wrote.

    Attributes
    ----------
    folder : Path
        The report folder, ``OUT/<audit name>/``.
    files : mapping of str to Path
        The files written into ``folder``, by format (keys of ``FORMATS``), ``"model"`` (the trained model),
        the names of saved mitigated models, and ``"pdf"`` (the printed card); read-only.
    history : Path or None
        This run's copy under ``folder/history/`` (None with ``history=False``).
    index : Path or None
        ``folder/index.html``, every run of the history (None with ``history=False``).
    mlflow : MlflowRun or None
        Where the run was logged to MLflow, when it was.
    challengers : mapping of str to Written
        What each challenger's own audit wrote (``folder/challengers/<name>/``), by challenger name.
    skipped : tuple of str
        Why something that was asked for was not written (the PDF when no Chromium was found), one sentence each.

    ``written["html"]`` is ``written.files["html"]``.
    """

    folder: Path
    files: Mapping[str, Path]
    history: Path | None = None
    index: Path | None = None
    mlflow: MlflowRun | None = None
    skipped: tuple[str, ...] = ()
    challengers: Mapping[str, "Written"] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))
        object.__setattr__(self, "challengers", MappingProxyType(dict(self.challengers)))

    def __getitem__(self, key: str) -> Path:
        return self.files[key]

    def __contains__(self, key: object) -> bool:
        return key in self.files

    #: Not iterable: iterate over ``files`` (the keys) or ``paths()``.
    __iter__ = None

    @property
    def pdf(self) -> Path | None:
        """The printed model card, when it was printed."""
        return self.files.get("pdf")

    def paths(self) -> tuple[Path, ...]:
        """Every path written: the files, then the history folder and the index page, then each
        challenger's."""
        return (*self.files.values(), *(p for p in (self.history, self.index) if p is not None),
                *(p for written in self.challengers.values() for p in written.paths()))


@dataclass(frozen=True)
class AuditResult:
    """Findings of one audit. Reading it computes nothing; its writers render the document.

    Attributes
    ----------
    document : dict
        The findings document (design §4); treat as read-only.
    model_bytes : bytes or None
        The trained model as ``.skops`` bytes, when the audit trained it.
    predictions_bytes : bytes or None
        ``predictions.parquet`` (row key, sensitive labels, target, prediction, score of every evaluation
        row), hashed in the manifest's ``audit.predictions``; None when not kept.
    model : object
        The fitted model (for further analysis in Python); not serialised.
    template : str or None
        A user's model card template (``report.template``), used by the HTML writers.
    inconclusive : {"fail", "pass"}
        The exit code of an inconclusive gate (``gate.inconclusive``).
    mitigated_models : dict
        ``.skops`` bytes of mitigated models by file name (``mitigation.save``); never the audited model.
    row_files : dict
        Other row-level files by name (``reasons.parquet`` of ``checks.reasons``).
    name : str or None
        The audit's name (config ``name``); the report folder is ``report_folder_name(name)``.
    pdf : bool
        Also print ``model_card.pdf`` when written (config ``report.pdf``).
    mlflow : MlflowSettings or None
        The config's ``mlflow`` section (tracking URI resolved), or None without one.
    challengers : tuple of AuditResult
        The challenger's own full audit (``challenger:`` or ``models:``), written into
        ``challengers/<its name>/`` of this audit's report folder; empty without a challenger.

    ``audit.run`` sets ``name``, ``pdf`` and ``mlflow`` from the config. A result built from a findings
    document alone (``name`` left None) takes all three from the document's manifest (``audit.name``,
    ``audit.report.pdf``, ``audit.config.mlflow``, a relative tracking URI read against the working folder).
    """

    document: dict[str, Any]
    model_bytes: bytes | None = None
    #: ``predictions.parquet``: every evaluation row's outputs (``report.predictions``), or None.
    predictions_bytes: bytes | None = field(default=None, repr=False)
    model: Any = field(default=None, repr=False, compare=False)
    template: str | None = None
    mitigated_models: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    #: Other row-level files by name (``reasons.parquet``), written beside the reports.
    row_files: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    #: What an inconclusive gate counts as for the exit code (config ``gate.inconclusive``).
    inconclusive: str = "fail"
    name: str | None = None
    pdf: bool = False
    mlflow: MlflowSettings | None = None
    challengers: tuple["AuditResult", ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.name is not None:
            return
        manifest = self.document.get("audit", {})
        if "name" not in manifest:
            raise AuditError("AuditResult needs the audit's `name`: pass `name=`, or a findings document whose "
                             "`audit.name` is set.")
        object.__setattr__(self, "name", manifest["name"])
        object.__setattr__(self, "pdf", self.pdf or bool((manifest.get("report") or {}).get("pdf")))
        if self.mlflow is None:
            object.__setattr__(self, "mlflow", MlflowSettings.from_config(
                (manifest.get("config") or {}).get("mlflow"), base_dir=Path.cwd()))

    @property
    def folder_name(self) -> str:
        """The report folder's name: the audit's name made safe (``OUT/<folder_name>/``)."""
        return report_folder_name(self.name or "")

    @property
    def gate(self) -> str:
        """``"pass"``, ``"fail"`` or ``"inconclusive"``."""
        return self.document["gate"]

    @property
    def exit_code(self) -> int:
        """0 when every blocking check was shown within its threshold (or an inconclusive gate counts as a
        pass by ``gate.inconclusive``), else 1; with a challenger, 1 when either audit's gate fails (the
        champion's holds the paired comparison, the challenger's its own checks: a model that would replace
        the champion must pass them too)."""
        if any(c.exit_code != EXIT_OK for c in self.challengers):
            return EXIT_GATE_FAILED
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

    def write(self, out_dir: str | Path, *, formats: tuple[str, ...] = tuple(FORMATS), pdf: bool | None = None,
              history: bool = True, mlflow: bool | str | None = None, chromium: str | None = None,
              now: datetime | None = None, progress: Callable[[str], None] | None = None) -> Written:
        """Write the audit's reports into ``out_dir/<audit name>/``, as ``audit run --out out_dir`` does.

        In order: each challenger's own report set, into ``challengers/<name>/`` (the same way, not logged to
        MLflow); the chosen formats (and the trained model, and saved mitigated models); the printed card;
        a copy of the run under ``history/`` and the rewritten ``index.html``; the MLflow run. Every report
        file is rendered in memory first and the run's files are written whole into their own folder, then
        shown together by one rename (see :mod:`audit.inputs._io`): a failed render, or a killed run, leaves
        the previous report set whole, and a reader never sees files of two runs side by side. What a killed
        run left behind is removed by the next.

        Parameters
        ----------
        out_dir : path
            The reports folder (``audit run --out``).
        formats : tuple of str
            Keys of ``FORMATS`` (``--format``); default all.
        pdf : bool, optional
            Print ``model_card.pdf`` with headless Chromium (``--pdf``); default the config's ``report.pdf``.
            Without Chromium the PDF is skipped and ``Written.skipped`` says why; nothing is raised.
        history : bool
            Keep a copy under ``history/`` and rewrite ``index.html``; False as ``--no-history``.
        mlflow : bool or str, optional
            Log the run to MLflow (``--mlflow [URI]``). None: when the config has an enabled ``mlflow``
            section; False: never; True: to the config's tracking URI, else ``out_dir/mlruns``; a string: that
            tracking URI (a plain path is relative to the working folder).
        chromium : str, optional
            The Chromium executable (default :func:`audit.report._pdf.find_chromium`).
        now : datetime, optional
            The time that names the history folder (default: now, UTC).
        progress : callable, optional
            Told each writing step in a few words (as :func:`audit.run`'s ``progress``): saving a large model
            takes a while, and the last step of the audit is long over by then.

        Returns
        -------
        Written

        Raises
        ------
        ValueError
            An unknown format; nothing is written.
        AuditError
            ``out_dir`` (or its report folder) is a file or is not writable; found before anything is rendered.
        AuditError
            Chromium failed to print, or MLflow could not log (or is not installed); the reports are written.
        """
        say = progress or (lambda _text: None)
        folder = Path(out_dir) / self.folder_name
        check_writable_folder(out_dir)
        check_writable_folder(folder, what="--out")
        rendered = {fmt: self.render(fmt) for fmt in formats}
        # The challengers' report sets, each whole, before the champion's card that links to them is shown.
        challengers = {c.name or "": c.write(folder / CHALLENGERS_FOLDER, formats=formats, pdf=pdf, history=history,
                                             mlflow=False, chromium=chromium, now=now, progress=progress)
                       for c in self.challengers}
        # The run is written whole into its own folder, then shown in one rename (see audit.inputs._io).
        run = ReportSet(folder)
        names: dict[str, str] = {}
        skipped: list[str] = []
        try:
            if self.model_bytes is not None:
                say(f"saving the model (model.skops, {_size(len(self.model_bytes))})")
                run.write("model.skops", self.model_bytes)
                names["model"] = "model.skops"
            if self.predictions_bytes is not None:
                run.write(PREDICTIONS_NAME, self.predictions_bytes)
                names["predictions"] = PREDICTIONS_NAME
            for name, data in {**self.mitigated_models, **self.row_files}.items():
                run.write(name, data)
                names[name] = name
            if rendered:
                say(f"writing the reports ({', '.join(FORMATS[fmt] for fmt in rendered)})")
            for fmt, text in rendered.items():
                run.write(FORMATS[fmt], text.encode("utf-8"))
                names[fmt] = FORMATS[fmt]
            if self.pdf if pdf is None else pdf:
                binary = chromium or find_chromium()
                if binary is None:  # the audit itself succeeded: say why there is no PDF
                    skipped.append(_NO_CHROMIUM)
                else:
                    say("printing the card to PDF")
                    self.to_pdf(run.path(PDF_NAME), chromium=binary)
                    run.add(PDF_NAME)
                    names["pdf"] = PDF_NAME
            shown = run.publish(adopt=[*FORMATS.values(), "model.skops", PDF_NAME, PREDICTIONS_NAME])
        except BaseException:
            run.discard()
            raise
        files: dict[str, Path] = {key: shown[name] for key, name in names.items()}
        run_dir = index = None
        if history:
            run_dir = record_run(folder, written=files, document=self.document, now=now)
            index = write_history_index(folder)
        logged = None
        target = self._mlflow_target(out_dir, mlflow)
        if target is not None:
            uri, settings = target
            try:
                logged = self.log_to_mlflow(tracking_uri=uri, experiment=settings.experiment,
                                            run_name=settings.run_name, files=files)
            except ImportError as exc:
                raise AuditError(f"{exc}. The reports are written; to skip logging, drop `--mlflow` (`mlflow=` "
                                 "in Python) and the config's `mlflow` section.") from None
        return Written(folder=folder, files=files, history=run_dir, index=index, mlflow=logged,
                       skipped=tuple(skipped), challengers=challengers)

    def _mlflow_target(self, out_dir: str | Path, mlflow: bool | str | None) -> tuple[str, MlflowSettings] | None:
        """The tracking URI and settings to log with, or None when this write does not log."""
        settings = self.mlflow or MlflowSettings()
        if mlflow is False or (mlflow is None and not (self.mlflow is not None and self.mlflow.enabled)):
            return None
        if isinstance(mlflow, str) and mlflow:  # a URI given by the caller is relative to the working folder
            return resolve_tracking_uri(mlflow, base_dir=Path.cwd()), settings
        return settings.tracking_uri or default_tracking_uri(out_dir), settings

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
                      files: Mapping[str, Path] | None = None) -> MlflowRun:
        """Log this audit as an MLflow run: key metrics and gaps, parameters, and the reports as artifacts.

        ``files`` are report files already written (``write(...).files``); the model card, findings and
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

    def __repr__(self) -> str:
        """A few lines: name, gate, the findings' counts and the key numbers; never the whole document."""
        doc = self.document
        counts = ", ".join(f"{n} {s}" for s, n in doc.get("summary", {}).items() if n)
        data, model = doc.get("data", {}), doc.get("model", {})
        lines = [f"AuditResult({self.name!r}: gate {self.gate}; {counts or 'no findings'})",
                 f"  {model.get('task', '?')} model {model.get('type', '?')} on {data.get('rows', '?')} evaluation rows"]
        failed = [f for f in self.findings if f.get("status") in ("fail", "error")]
        lines += [f"  {f['status']}: {f['message'][:117] + '...' if len(f['message']) > 120 else f['message']}"
                  for f in failed[:3]]
        if len(failed) > 3:
            lines.append(f"  ... and {len(failed) - 3} more; the card (to_html) and findings.json hold them all")
        return "\n".join(lines)

    #: Height of the card's frame in a notebook, in pixels; the card scrolls inside it.
    NOTEBOOK_HEIGHT = 720

    def _repr_html_(self) -> str:
        """The model card in a notebook, isolated in an ``<iframe srcdoc>``: its global styles (and its
        Content-Security-Policy) then apply to the card alone, never to the notebook's other outputs."""
        page = render_html(self.document, template=self.template)
        return (f'<iframe title="Model card: {html.escape(str(self.name), quote=True)}" '
                f'srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: {self.NOTEBOOK_HEIGHT}px; border: 1px solid #ccc;"></iframe>')
