"""Command line: ``audit run``, ``audit validate``, ``audit compare``, ``audit init``.

Exit codes: 0 every blocking check passed; 1 a blocking check failed (the
report is still written); 2 bad input (config, data, model); 3 internal error.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Sequence

from ._errors import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_INTERNAL, EXIT_OK, AuditError
from ._names import FORMATS, report_folder_name

# Each command imports what it needs inside its function: `audit run` needs the whole engine (scipy.stats,
# scikit-learn's estimators, shap), but `--help`, `validate` and `init` must start in a fraction of that.

__all__ = ["main"]


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"--format takes a comma-separated list of {', '.join(FORMATS)}; "
                                         f"got {text!r}")
    return chosen


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("rai-audit")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="audit", description="Responsible-AI audit of a model (binary or multiclass "
                                     "classification, or regression) by subgroup: performance, fairness, data bias, "
                                     "explainability.",
                                     epilog="Exit codes: 0 pass, 1 a blocking check failed, 2 bad input, "
                                            "3 internal error.")
    parser.add_argument("--version", action="version", version=f"audit (rai-audit) {_version()}")
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
    p_run.add_argument("--baseline", type=Path, default=None,
                       help="findings.json of an earlier audit: adds 'changes since last audit' and lets the "
                            "gate policy judge regressions")
    p_run.add_argument("--challenger", type=Path, default=None, metavar="MODEL",
                       help="a model file to compare with the config's model on the same rows (champion against "
                            "challenger); replaces `challenger.model`, keeps `challenger.margin`")
    p_run.add_argument("--champion", default=None, metavar="NAME",
                       help="the model in production among the config's `models` (default: the one marked "
                            "`champion: true`); the other is the challenger")
    p_run.add_argument("--trust-challenger", action="store_true",
                       help="allow the challenger file's types to be loaded (a pickle, or a .skops file with types "
                            "outside the trusted defaults); only for files from a source you trust")
    p_run.add_argument("--no-history", action="store_true",
                       help="do not keep a copy under OUT/<name>/history/ nor update OUT/<name>/index.html")
    p_val = sub.add_parser("validate", help="check the config and the data's columns without running")
    p_val.add_argument("config", type=Path, nargs="+", help="one or more audit.yaml files")
    p_val.add_argument("--champion", default=None, metavar="NAME",
                       help="as for `audit run`: the champion among the config's `models`")
    p_cmp = sub.add_parser("compare", help="what changed between two audits' findings.json")
    p_cmp.add_argument("old", type=Path, help="findings.json of the baseline audit")
    p_cmp.add_argument("new", type=Path, help="findings.json of the newer audit")
    p_cmp.add_argument("--alpha", type=float, default=None,
                       help="significance level (default: the newer audit's gate.alpha, else 0.05)")
    p_cmp.add_argument("--out", type=Path, default=None, help="folder to write comparison.{json,md,html} into")
    p_cmp.add_argument("--format", type=_compare_formats, default=("json", "md", "html"),
                       help="with --out: comma-separated among json,md,html (default: all)")
    p_cmp.add_argument("--fail-on", choices=("significant_regression", "never"), default="significant_regression",
                       help="exit 1 when a change is a significant regression (default), or never")
    p_cmp.add_argument("--quiet", action="store_true", help="print nothing but errors")
    p_init = sub.add_parser("init", help="write a commented starter audit.yaml for a data file")
    p_init.add_argument("path", type=Path, nargs="?", default=Path("."),
                        help="a CSV/Parquet file, or a folder holding one (default: the current folder)")
    p_init.add_argument("--output", type=Path, default=None,
                        help="where to write (default: audit.yaml beside the data)")
    p_init.add_argument("--target", default=None, help="the target column, instead of a guess")
    p_init.add_argument("--force", action="store_true", help="replace an existing audit.yaml")
    p_init.add_argument("--dictionary", type=Path, default=None, metavar="FILE",
                        help="names of coded values, written as data.labels: YAML {column: {code: name}} or a CSV "
                             "of column,code,label")
    return parser


_COMPARE_FORMATS = {"json": "comparison.json", "md": "comparison.md", "html": "comparison.html"}


def _compare_formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    if not chosen or any(f not in _COMPARE_FORMATS for f in chosen):
        raise argparse.ArgumentTypeError(f"--format takes a comma-separated list of json, md, html; got {text!r}")
    return chosen


class _Bar:
    """Progress of ``audit run`` on a terminal: one tqdm bar over the run's steps, showing the current step
    (with its rows), the steps done and the time elapsed. Called with each step's text, as ``run``'s
    ``progress``; the explainer's "explained i of n rows" update the step shown without counting as steps."""

    def __init__(self, *, total: int, file: Any) -> None:
        from tqdm import tqdm

        try:
            columns, lines = os.get_terminal_size(file.fileno())
        except (OSError, ValueError, AttributeError):
            columns, lines = 0, 0
        # A terminal that reports no size (a fresh pseudo-terminal says 0 x 0) would get no bar at all.
        self._bar = tqdm(total=total, file=file, unit="step", ncols=columns if columns >= 40 else 100,
                         nrows=lines if lines >= 2 else 20, leave=True, mininterval=0,
                         bar_format="audit: {desc} |{bar}| {n_fmt}/{total_fmt} steps [{elapsed}]")
        self._started = False
        self._bar.set_description_str("starting", refresh=False)

    def __call__(self, text: str) -> None:
        counted = not text.startswith("explained ")
        # One redraw per call: the new step's text with the count of the steps done before it.
        self._bar.set_description_str(text, refresh=not (counted and self._started))
        if counted and self._started:
            self._step_done()
        self._started = self._started or counted

    def _step_done(self) -> None:
        if self._bar.total is not None and self._bar.n >= self._bar.total:
            self._bar.total = self._bar.n + 1  # a step the plan did not count: the bar grows, never overflows
        self._bar.update(1)

    def close(self, text: str) -> None:
        """The run is over: the last step is done, ``text`` (what was written) is shown."""
        if self._started:
            self._step_done()
        self._bar.total = self._bar.n
        self._bar.set_description_str(text, refresh=False)
        self._bar.close()


def _progress(quiet: bool, *, total: int, stream: Any = None) -> Callable[[str], None]:
    """``run``'s progress for the command line: nothing with ``--quiet``; a bar on a terminal; else (a CI log,
    a file) a plain line per step (the explainer's progress within its step is left out)."""
    stream = stream if stream is not None else sys.stderr
    if quiet:
        return lambda _text: None
    if stream.isatty():
        return _Bar(total=total, file=stream)

    def line(text: str) -> None:
        if not text.startswith("explained "):  # a log gets the steps, not forty lines of one step's progress
            print(f"audit: {text}...", file=stream, flush=True)

    return line


def _cmd_run(args: argparse.Namespace) -> int:
    from ._run import run
    from .inputs._io import check_writable_folder
    from .settings._config import choose_champion, load_config

    # Before any work: a bad --out (or a file where its report folder goes) is found in a second, not after
    # the audit.
    check_writable_folder(args.out)
    config = choose_champion(load_config(args.config), champion=args.champion)
    check_writable_folder(args.out / report_folder_name(config.name), what="--out")
    if args.challenger is not None:
        from .settings._config import ChallengerConfig, ModelConfig

        kept = config.challenger
        model = ModelConfig(load=str(args.challenger.expanduser().resolve()), trust=args.trust_challenger)
        config = config.model_copy(update={"challenger": ChallengerConfig(
            name=kept.name if kept is not None else args.challenger.stem, model=model,
            margin=kept.margin if kept is not None else {}, severity=kept.severity if kept is not None else "block",
            champion=kept.champion if kept is not None else "champion")})
    from ._run import planned_steps

    # Writing: the reports, and first the trained model (saving a large one takes a while), and last the PDF.
    writing = 1 + (config.model is not None and config.model.train is not None) + bool(args.pdf or config.report.pdf)
    progress = _progress(args.quiet, total=planned_steps(config) + writing)
    try:
        result = run(config, seed=args.seed, progress=progress, engine=args.engine,
                     scheduler=args.scheduler, baseline=args.baseline)
        # `--pdf` asks for the PDF; without it the config's `report.pdf` decides. `--mlflow` with no URI is True.
        # Writing has its own progress: saving a large model takes a while after the last audit step.
        written = result.write(args.out, formats=args.format, pdf=True if args.pdf else None,
                               history=not args.no_history,
                               mlflow=None if args.mlflow is None else (args.mlflow or True), progress=progress)
    except BaseException:
        if isinstance(progress, _Bar):  # the bar ends first: the error is printed on a line of its own
            progress.close("stopped")
        raise
    if isinstance(progress, _Bar):
        progress.close("done")
    for note in written.skipped:  # the audit itself succeeded: keep the gate's exit code
        print(f"audit: {note}", file=sys.stderr)
    if not args.quiet:
        s = result.document["summary"]
        print(f"gate {result.gate.upper()}: {s['pass']} passed, {s['fail']} failed, {s['warn']} warned, "
              f"{s['insufficient_data']} insufficient data, {s['error']} errors")
        if result.gate == "inconclusive":
            print(f"  no blocking check was shown beyond its threshold, but some were not shown either way; "
                  f"counted as {result.inconclusive} (gate.inconclusive)")
        for challenger in result.challengers:
            c = challenger.document["summary"]
            print(f"challenger {challenger.name!r}, its own audit: gate {challenger.gate.upper()}: {c['pass']} passed, "
                  f"{c['fail']} failed, {c['warn']} warned")
        comparison = result.document.get("comparison")
        if comparison is not None:
            cs = comparison["summary"]
            print(f"since the baseline: {cs['significant_regressions']} significant regressions, "
                  f"{cs['significant_improvements']} significant improvements, {cs['flipped_checks']} checks "
                  "changed status")
        for path in written.paths():
            print(f"  wrote {path}")
        if written.mlflow is not None:
            print(f"  logged MLflow run {written.mlflow.run_id} to {written.mlflow.tracking_uri}")
    return result.exit_code


def _cmd_validate(args: argparse.Namespace) -> int:
    from .inputs._validate import validate

    for config in args.config:
        checked = validate(config, champion=args.champion)
        print(f"{config}: valid. {checked.rows} evaluation rows, {checked.features} features, "
              f"{checked.groupings} groupings; reports go to reports/{report_folder_name(checked.name)}/."
              + (f" {checked.note}" if checked.note else ""))
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from .measures._compare import compare
    from .findings._document import dumps
    from .findings._policy import load_findings
    from .inputs._io import check_writable_folder
    from .report import atomic_write_text
    from .report._comparison import render_comparison_html, render_comparison_markdown, render_comparison_text

    if args.out is not None:
        check_writable_folder(args.out)
    old, new = load_findings(args.old), load_findings(args.new)
    alpha = args.alpha
    if alpha is None:
        alpha = new["audit"].get("config", {}).get("gate", {}).get("alpha", 0.05)
    from .findings._policy import paired_documents

    paired, pairing = paired_documents(old, new, old_path=args.old, new_path=args.new)
    comparison = compare(old, new, alpha=alpha, old_source=args.old.name, new_source=args.new.name, paired=paired,
                         pairing=pairing).to_dict()
    sensitive = list(new["data"].get("sensitive", []))
    if not args.quiet:
        print(render_comparison_text(comparison, sensitive=sensitive), end="")
    if args.out is not None:
        render = {"json": lambda: dumps(comparison),
                  "md": lambda: render_comparison_markdown(comparison, sensitive=sensitive),
                  "html": lambda: render_comparison_html(comparison, sensitive=sensitive)}
        texts = {fmt: render[fmt]() for fmt in args.format}  # render all before writing any
        for fmt, text in texts.items():
            path = atomic_write_text(args.out / _COMPARE_FORMATS[fmt], text)
            if not args.quiet:
                print(f"  wrote {path}")
    regressions = comparison["summary"]["significant_regressions"]
    return EXIT_GATE_FAILED if regressions and args.fail_on == "significant_regression" else EXIT_OK


def _cmd_init(args: argparse.Namespace) -> int:
    from ._init import write_config

    out, proposal = write_config(args.path, output=args.output, target=args.target, force=args.force,
                                 dictionary=args.dictionary)
    sensitive = ", ".join(s.column for s in proposal.sensitive) or "none found"
    print(f"wrote {out}: target {proposal.target!r}, sensitive {sensitive}. Read its comments, then "
          f"`audit validate {out}`.")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``audit`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return {"run": _cmd_run, "validate": _cmd_validate, "compare": _cmd_compare,
                "init": _cmd_init}[args.command](args)
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
