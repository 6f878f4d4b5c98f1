"""Logging an audit to MLflow: key metrics and gaps as run metrics, the reports as artifacts.

Reads the findings document and the files already written; computes nothing. MLflow is an optional extra
(``pip install 'rai-audit[mlflow]'``), imported only when an audit is logged.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from .._errors import AuditError
from .._extras import require

__all__ = ["MlflowRun", "MlflowSettings", "require_mlflow", "metric_name", "run_metrics", "run_params",
           "default_tracking_uri", "resolve_tracking_uri", "log_audit"]

# MLflow allows alphanumerics, underscores, dashes, periods, spaces, colons and slashes in metric names.
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_\-. /:]+")
_MAX_PARAM = 500  # MLflow's oldest stores cap a parameter value at 500 characters


def require_mlflow() -> Any:
    """Import MLflow, or raise :class:`~audit._extras.MissingExtra` (an ImportError) naming the extra."""
    return require("mlflow", extra="mlflow", purpose="Logging to MLflow")


@dataclass(frozen=True)
class MlflowRun:
    """Where an audit was logged."""

    tracking_uri: str
    experiment_id: str
    run_id: str


@dataclass(frozen=True)
class MlflowSettings:
    """A config's ``mlflow`` section, as the writers use it.

    ``enabled`` logs every run (a ``--mlflow`` flag or ``mlflow=True`` logs a run whatever it says);
    ``tracking_uri`` is already resolved (a plain path in the config is relative to the config's folder), and
    None means the default local store, ``mlruns`` in the reports folder.
    """

    enabled: bool = True
    tracking_uri: str | None = None
    experiment: str | None = None
    run_name: str | None = None

    @classmethod
    def from_config(cls, section: Any, *, base_dir: str | Path) -> MlflowSettings | None:
        """The settings of a config's ``mlflow`` section (an ``MlflowConfig`` or its mapping); None without one.

        Examples
        --------
        >>> MlflowSettings.from_config({"tracking_uri": "runs", "experiment": "audits"}, base_dir="/tmp")
        MlflowSettings(enabled=True, tracking_uri='file:///tmp/runs', experiment='audits', run_name=None)
        >>> MlflowSettings.from_config(None, base_dir="/tmp") is None
        True
        """
        if section is None:
            return None
        if isinstance(section, dict):
            get = section.get
        else:
            def get(key: str, default: Any = None) -> Any:
                return getattr(section, key, default)
        uri = get("tracking_uri")
        return cls(enabled=bool(get("enabled", True)),
                   tracking_uri=resolve_tracking_uri(uri, base_dir=base_dir) if uri else None,
                   experiment=get("experiment"), run_name=get("run_name"))


def metric_name(*parts: str) -> str:
    """A metric name MLflow accepts: parts joined by dots, other characters replaced by ``_``.

    Examples
    --------
    >>> metric_name("fairness", "sex&race", "demographic_parity_ratio")
    'fairness.sex_race.demographic_parity_ratio'
    """
    return ".".join(_NOT_ALLOWED.sub("_", p).strip("_") or "_" for p in parts)


def run_metrics(document: dict[str, Any]) -> dict[str, float]:
    """The key numbers of an audit as MLflow metrics (undefined values left out).

    Overall metrics with their interval bounds, every fairness gap by attribute and intersection, the
    four-fifths impact ratios, finding counts and the gate (1 pass, 0 fail).
    """
    out: dict[str, float] = {}
    for name, e in document["metrics"]["overall"].items():
        for key, suffix in (("value", ()), ("ci_low", ("ci_low",)), ("ci_high", ("ci_high",))):
            if e.get(key) is not None:
                out[metric_name("overall", name, *suffix)] = float(e[key])
    for attribute, values in document["fairness"]["by_attribute"].items():
        for name, e in values.items():
            if e["value"] is not None:
                out[metric_name("fairness", attribute, name)] = float(e["value"])
    for status, count in document["summary"].items():
        out[metric_name("findings", status)] = float(count)
    out["gate_pass"] = 1.0 if document["gate"] == "pass" else 0.0
    return out


def run_params(document: dict[str, Any]) -> dict[str, str]:
    """Parameters of the run: seed, model type and hash, data hashes, bootstrap settings, package version."""
    a, m = document["audit"], document["model"]
    params = {"audit_name": a["name"], "seed": str(a["seed"]), "model_type": m["type"],
              "model_sha256": m["sha256"], "data_test_sha256": ",".join(a["data"]["test"]["sha256"]),
              "bootstrap_replicates": str(a["bootstrap"]["replicates"]), "bootstrap_level": str(a["bootstrap"]["level"]),
              "evaluation_rows": str(document["data"]["rows"]), "sensitive": ",".join(document["data"]["sensitive"]),
              "rai_audit_version": a["versions"].get("rai-audit", "")}
    if a["data"]["train"] is not None:
        params["data_train_sha256"] = ",".join(a["data"]["train"]["sha256"])
    return {k: v[:_MAX_PARAM] for k, v in params.items()}


def default_tracking_uri(out_dir: str | Path) -> str:
    """The local file store used when none is named: ``mlruns`` inside the reports folder."""
    return (Path(out_dir).resolve() / "mlruns").as_uri()


def resolve_tracking_uri(uri: str, *, base_dir: str | Path) -> str:
    """A tracking URI as given, or a plain path made a ``file:`` URI (relative to ``base_dir``).

    Examples
    --------
    >>> resolve_tracking_uri("http://localhost:5000", base_dir="/tmp")
    'http://localhost:5000'
    >>> resolve_tracking_uri("runs", base_dir="/tmp")
    'file:///tmp/runs'
    """
    scheme = urlparse(uri).scheme
    if len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
        return uri
    path = Path(uri).expanduser()
    return (path if path.is_absolute() else Path(base_dir) / path).resolve().as_uri()


@contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    # Recent MLflow refuses a file store unless this is set; a local folder of runs is what we promise by
    # default, so allow it for the duration of the logging only, unless the user decided otherwise.
    key = "MLFLOW_ALLOW_FILE_STORE"
    if urlparse(uri).scheme != "file" or key in os.environ:
        yield
        return
    os.environ[key] = "true"
    try:
        yield
    finally:
        os.environ.pop(key, None)


def log_audit(document: dict[str, Any], *, files: dict[str, Path], tracking_uri: str, experiment: str | None = None,
              run_name: str | None = None) -> MlflowRun:
    """Log an audit as one MLflow run.

    Parameters
    ----------
    document : dict
        The findings document.
    files : mapping of str to Path
        Report files to attach as artifacts (card, findings, JUnit, ...); a missing one raises.
    tracking_uri : str
        Where to log, e.g. ``file:///.../mlruns`` or a tracking server's address.
    experiment : str, optional
        Experiment name (created when missing); default: the audit's name.
    run_name : str, optional
        Default: the audit's name and creation time.

    Returns
    -------
    MlflowRun

    Raises
    ------
    AuditError
        MLflow refused the run (unreachable server, bad URI); the message names the URI.

    Examples
    --------
    >>> log_audit(result.document, files=written, tracking_uri="file:///tmp/mlruns")  # doctest: +SKIP
    """
    require_mlflow()
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    a = document["audit"]
    experiment = experiment or a["name"]
    missing = [str(p) for p in files.values() if not Path(p).is_file()]
    if missing:
        raise AuditError(f"Cannot log to MLflow: report file(s) {', '.join(missing)} do not exist.")
    try:
        with _file_store_allowed(tracking_uri):
            client = MlflowClient(tracking_uri=tracking_uri)
            found = client.get_experiment_by_name(experiment)
            experiment_id = found.experiment_id if found is not None else client.create_experiment(experiment)
            run = client.create_run(experiment_id, run_name=run_name or f"{a['name']} {a['created']}",
                                    tags={"rai_audit.gate": document["gate"], "rai_audit.name": a["name"]})
            run_id = run.info.run_id
            try:
                stamp = 0
                client.log_batch(run_id,
                                 metrics=[Metric(k, v, stamp, 0) for k, v in run_metrics(document).items()],
                                 params=[Param(k, v) for k, v in run_params(document).items()],
                                 tags=[RunTag("rai_audit.created", a["created"])])
                for path in files.values():
                    client.log_artifact(run_id, str(path))
                client.set_terminated(run_id, status="FINISHED")
            except BaseException:
                client.set_terminated(run_id, status="FAILED")
                raise
    except MlflowException as exc:
        raise AuditError(f"MLflow could not log the audit to {tracking_uri}: {str(exc).splitlines()[0]} "
                         "The reports are written; check the tracking URI (`--mlflow URI` or "
                         "`mlflow.tracking_uri`).") from None
    return MlflowRun(tracking_uri=tracking_uri, experiment_id=experiment_id, run_id=run_id)
