"""Report history: every run kept under ``<report folder>/history/<UTC timestamp>/``, and an index of them.

Layout::

    reports/<name>/                     the latest run (model_card.html, findings.json, ...)
    reports/<name>/index.html           every run: verdict, counts, key metrics, trend charts
    reports/<name>/history/20261125T071200Z/      a copy of one run's files (findings.json always)
    reports/<name>/history/20261125T071200Z-2/    a second run within the same second

A run's files are copied into a hidden folder that is then renamed to its timestamp, never onto an existing
run's folder: a run appears whole or not at all, two runs never share a folder, and nothing in an earlier
run's folder is ever written again.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._document import dumps
from ..inputs._io import _umask, atomic_write_bytes, atomic_write_text

__all__ = ["HistoryRun", "HistoryIndex", "record_run", "read_history", "KEY_METRICS", "KEY_GAPS"]

#: Overall metrics drawn on the trend chart (those present in the latest run).
KEY_METRICS = ("roc_auc", "accuracy", "balanced_accuracy", "f1")
#: Fairness gaps drawn per sensitive attribute (not per intersection).
KEY_GAPS = ("demographic_parity_difference", "equalized_odds_difference")


@dataclass(frozen=True)
class HistoryRun:
    """One run as the index shows it (read from its ``findings.json``)."""

    folder: str
    created: str
    gate: str
    summary: dict[str, int]
    model_sha256: str | None
    metrics: dict[str, float | None]
    gaps: dict[str, float | None]
    files: tuple[str, ...]
    regressions: int | None


@dataclass(frozen=True)
class HistoryIndex:
    """Every run of one audit, oldest first, with the series of the trend charts."""

    name: str
    title: str
    runs: tuple[HistoryRun, ...]
    metric_names: tuple[str, ...]
    gap_names: tuple[str, ...]


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _publish(history: Path, incoming: Path, stamp: str) -> Path:
    """Rename the filled ``incoming`` folder to ``stamp`` (or ``stamp-2``, ...), never onto an existing run."""
    for i in range(1, 10_000):
        folder = history / (stamp if i == 1 else f"{stamp}-{i}")
        if folder.exists():
            continue
        try:
            # rename(2) of a folder fails onto a non-empty folder, and every published run holds files: two
            # runs racing for one name cannot replace each other.
            os.rename(incoming, folder)
        except OSError:
            continue
        return folder
    raise RuntimeError(f"could not publish a history folder for {stamp} in {history}")


def _run_of(folder: Path, doc: dict[str, Any]) -> HistoryRun:
    overall = doc.get("metrics", {}).get("overall", {})
    fairness = doc.get("fairness", {}).get("by_attribute", {})
    gaps = {f"{attribute}: {gap}": fairness.get(attribute, {}).get(gap, {}).get("value")
            for attribute in doc.get("data", {}).get("sensitive", []) for gap in KEY_GAPS
            if gap in fairness.get(attribute, {})}
    comparison = doc.get("comparison")
    return HistoryRun(
        folder=folder.name, created=doc.get("audit", {}).get("created", ""), gate=doc.get("gate", "unknown"),
        summary=dict(doc.get("summary", {})), model_sha256=doc.get("model", {}).get("sha256"),
        metrics={m: overall[m]["value"] for m in KEY_METRICS if m in overall}, gaps=gaps,
        files=tuple(sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))),
        regressions=None if comparison is None else comparison["summary"]["significant_regressions"])


def read_history(folder: str | Path) -> HistoryIndex:
    """Read every run under ``folder/history/``, oldest first; folders without a readable findings.json are skipped."""
    folder = Path(folder)
    runs = []
    name = title = folder.name
    for run_dir in sorted((folder / "history").iterdir() if (folder / "history").is_dir() else []):
        if run_dir.name.startswith("."):  # a run still being copied
            continue
        try:
            doc = json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        runs.append(_run_of(run_dir, doc))
        name = doc.get("audit", {}).get("name", name)
        title = doc.get("audit", {}).get("title", title)
    latest = runs[-1] if runs else None
    return HistoryIndex(name=name, title=title, runs=tuple(runs),
                        metric_names=tuple(latest.metrics) if latest else (),
                        gap_names=tuple(latest.gaps) if latest else ())


def record_run(folder: str | Path, *, written: dict[str, Path], document: dict[str, Any],
               now: datetime | None = None) -> Path:
    """Copy a run's files into a new ``history/<timestamp>/`` folder.

    The index page is the renderers' part: :func:`audit.report.write_history_index` rewrites it from
    :func:`read_history`.

    Parameters
    ----------
    folder : path
        The audit's report folder (``reports/<name>``).
    written : dict
        The files the run wrote (as :meth:`AuditResult.write` returns them).
    document : dict
        The run's findings document; saved as ``findings.json`` even when that format was not chosen,
        because the index is built from it.
    now : datetime, optional
        The run's time (default: now, UTC).

    Returns
    -------
    Path
        The new history folder.
    """
    folder = Path(folder)
    history = folder / "history"
    history.mkdir(parents=True, exist_ok=True)
    # Filled under a hidden name, then renamed: a run's folder appears whole or not at all.
    incoming = Path(tempfile.mkdtemp(dir=history, prefix=f".incoming-{os.getpid()}-"))
    os.chmod(incoming, 0o777 & ~_umask())  # mkdtemp makes 0700; a report folder is as readable as any
    try:
        for path in written.values():
            atomic_write_bytes(incoming / Path(path).name, Path(path).read_bytes())
        if not (incoming / "findings.json").exists():
            atomic_write_text(incoming / "findings.json", dumps(document))
        run_dir = _publish(history, incoming, _stamp(now or datetime.now(timezone.utc)))
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    return run_dir
