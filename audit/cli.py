"""Command line: ``audit run``, ``audit validate``.

Exit codes: 0 every blocking check passed; 1 a blocking check failed (the
report is still written); 2 bad input (config, data, model); 3 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Sequence

from ._config import load_config
from ._data import load_dataset
from ._errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_OK, AuditError
from ._groups import build_groups
from ._mlflow_logging import MlflowRun, default_tracking_uri, resolve_tracking_uri
from ._result import FORMATS, AuditResult, report_folder_name
from ._run import run
from .report._pdf import CHROMIUM_ENV, find_chromium

__all__ = ["main"]


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; "
                                         f"got {text!r}")
    return chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audit", description="Responsible-AI audit of a classification model.",
                                     epilog="Exit codes: 0 pass, 1 a blocking check failed, 2 bad input, "
                                            "3 internal error.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run an audit and write its reports")
    p_run.add_argument("config", type=Path, help="the audit.yaml")
    p_run.add_argument("--out", type=Path, default=Path("reports"),
                       help="folder for reports; they go to OUT/<audit name>/ (default: reports)")
    p_run.add_argument("--format", type=_formats, default=tuple(FORMATS),
                       help=f"comma-separated outputs among {','.join(FORMATS)} (default: all)")
    p_run.add_argument("--pdf", action="store_true",
                       help="also print the model card to model_card.pdf with headless Chromium (as report.pdf: "
                            "true); skipped with a notice when Chromium is not installed")
    p_run.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p_run.add_argument("--mlflow", nargs="?", const="", default=None, metavar="URI",
                       help="also log the audit to MLflow (metrics, parameters, reports as artifacts); URI of a "
                            "tracking store or server, default a local store OUT/mlruns (needs rai-audit[mlflow])")
    p_run.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p_run.add_argument("--engine", choices=("local", "dask"), default=None,
                       help="where the pass over the evaluation data runs (default: the config's `engine`, local)")
    p_run.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="dask scheduler address, e.g. tcp://host:8786 (default: a local cluster)")
    p_val = sub.add_parser("validate", help="check the config and the data's columns without running")
    p_val.add_argument("config", type=Path)
    return parser


def _progress(quiet: bool) -> Callable[[str], None]:
    if quiet or not sys.stderr.isatty():
        return lambda _text: None
    return lambda text: print(f"audit: {text}...", file=sys.stderr, flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    result = run(args.config, seed=args.seed, progress=_progress(args.quiet), engine=args.engine,
                 scheduler=args.scheduler)
    written = result.write(args.out, formats=args.format)
    if args.pdf or result.document["audit"]["report"].get("pdf"):
        pdf = Path(args.out) / report_folder_name(result.document["audit"]["name"]) / "model_card.pdf"
        if find_chromium() is None:
            # The audit itself succeeded: say why there is no PDF, keep the gate's exit code.
            print(f"audit: model_card.pdf skipped: no Chromium found (install Debian's `chromium` package or set "
                  f"{CHROMIUM_ENV} to a Chromium executable).", file=sys.stderr)
        else:
            written["pdf"] = result.to_pdf(pdf)
    logged = _log_mlflow(args, result, written)
    if not args.quiet:
        s = result.document["summary"]
        print(f"gate {result.gate.upper()}: {s['pass']} passed, {s['fail']} failed, {s['warn']} warned, "
              f"{s['insufficient_data']} insufficient data, {s['error']} errors")
        for path in written.values():
            print(f"  wrote {path}")
        if logged is not None:
            print(f"  logged MLflow run {logged.run_id} to {logged.tracking_uri}")
    return result.exit_code


def _log_mlflow(args: argparse.Namespace, result: AuditResult, written: dict[str, Path]) -> MlflowRun | None:
    """Log to MLflow when ``--mlflow`` is given or the config has an enabled ``mlflow`` section."""
    settings = result.document["audit"]["config"].get("mlflow") or {}
    if args.mlflow is None and not settings.get("enabled"):
        return None
    if args.mlflow:  # a URI on the command line is relative to the working directory
        uri = resolve_tracking_uri(args.mlflow, base_dir=Path.cwd())
    elif settings.get("tracking_uri"):  # in the config, relative to the config file
        uri = resolve_tracking_uri(settings["tracking_uri"], base_dir=args.config.resolve().parent)
    else:
        uri = default_tracking_uri(args.out)
    try:
        return result.log_to_mlflow(tracking_uri=uri, experiment=settings.get("experiment"),
                                    run_name=settings.get("run_name"), files=written)
    except ImportError as exc:
        raise AuditError(f"{exc}. The reports are written; rerun without --mlflow (and without an `mlflow` "
                         "section in the config) to skip logging.") from None


def _cmd_validate(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    dataset = load_dataset(cfg)
    groups = build_groups(dataset.test.frame, sensitive=list(cfg.data.sensitive), bins=cfg.data.bins,
                          intersections=cfg.data.intersections, source=dataset.test.name)
    print(f"{args.config}: valid. {len(dataset.test.frame)} evaluation rows, {len(dataset.features)} features, "
          f"{len(groups.groupings)} groupings; reports go to reports/{report_folder_name(cfg.name)}/.")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audit`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return {"run": _cmd_run, "validate": _cmd_validate}[args.command](args)
    except AuditError as exc:
        print(f"audit: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("audit: interrupted; reports already written are intact.", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a bug, reported briefly
        if os.environ.get("AUDIT_DEBUG"):
            traceback.print_exc()
        print(f"audit: internal error: {type(exc).__name__}: {exc}. This is a bug in rai-audit; "
              "rerun with AUDIT_DEBUG=1 for the traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
