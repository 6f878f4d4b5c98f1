"""Progress of `audit run` on stderr: a tqdm bar on a terminal, a plain line per step otherwise, nothing with
--quiet; and the bar's length (`planned_steps`) is the number of steps a real run announces."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

import audit
from audit._run import planned_steps
from audit.cli import _Bar, _progress, main
from audit.settings._config import load_config

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "credit_default_sample.csv.gz"
TARGET = "default payment next month"


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal, as stderr does in a shell."""

    def isatty(self) -> bool:
        return True


def _config(tmp_path: Path, **checks) -> Path:
    frame = pd.read_csv(DATA)
    frame.iloc[:1400].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[1400:].to_csv(tmp_path / "test.csv", index=False)
    raw = {"name": "credit", "data": {"test": "test.csv", "train": "train.csv", "reference": "train.csv",
                                      "target": TARGET, "sensitive": ["SEX"],
                                      "features": ["LIMIT_BAL", "AGE", "PAY_0", "BILL_AMT1", "PAY_AMT1"]},
           "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression", "params": {"max_iter": 300}}},
           "bootstrap": {"replicates": 20},
           "checks": {"explainability": {"method": "permutation", "sample": 100}, **checks}}
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_the_planned_steps_are_the_steps_a_run_announces(tmp_path):
    config = _config(tmp_path)
    steps: list[str] = []
    audit.run(config, progress=steps.append)
    announced = [s for s in steps if not s.startswith("explained ")]
    assert len(announced) == planned_steps(load_config(config)), announced
    assert "predicting and counting 600 rows" in announced  # the rows read: 2,000 less the 1,400 of train.csv


def test_the_bar_counts_steps_and_shows_the_current_one():
    stream = _Terminal()
    bar = _progress(False, total=3, stream=stream)
    assert isinstance(bar, _Bar)
    bar("loading data")
    bar("explaining 100 rows")
    bar("explained 50 of 100 rows")  # within the step: shown, not counted
    bar("checks")
    bar("an extra step")  # beyond the plan: the bar grows
    bar.close("done")
    drawn = stream.getvalue()
    assert "audit: explained 50 of 100 rows |" in drawn and "| 2/3 steps [00:00]" in drawn
    assert re.search(r"audit: done \|[█#]+\| 4/4 steps \[\d\d:\d\d\]\s*$", drawn)


def test_without_a_terminal_each_step_is_a_line_and_quiet_prints_nothing(tmp_path, capsys):
    config = _config(tmp_path, slices={"enabled": False})
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--format", "json", "--no-history"]) in (0, 1)
    lines = capsys.readouterr().err.splitlines()
    assert lines[:4] == ["audit: loading data...", "audit: training sklearn.linear_model.LogisticRegression...",
                         "audit: serialising the trained model (model.skops)...",
                         "audit: predicting and counting 600 rows..."]
    assert lines[-2].startswith("audit: saving the model (model.skops, ")
    assert lines[-1] == "audit: writing the reports (findings.json)..." and all(line.startswith("audit: ") for line in lines)
    assert "audit: explaining 100 rows..." in lines and not any("explained" in line for line in lines)
    assert len(lines) == planned_steps(load_config(config)) + 2  # one line per step, saving the model, writing
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--format", "json", "--no-history",
                 "--quiet"]) in (0, 1)
    assert capsys.readouterr().err == ""


@pytest.mark.slow  # a whole audit on a pseudo-terminal, about ten seconds
@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_pseudo_terminal_the_command_draws_one_bar(tmp_path):
    config = _config(tmp_path, slices={"enabled": False})
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "audit", "run", str(config), "--out", str(tmp_path / "out"),
                             "--format", "json", "--no-history"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=follower, env=env, cwd=tmp_path)
    os.close(follower)
    seen = b""
    while True:  # read the terminal until the process closes it
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the other end is closed
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=120)
    os.close(leader)
    assert proc.returncode in (0, 1), seen
    drawn = seen.decode("utf-8", "replace")
    # Redrawn in place (carriage returns), not a line per step; the last state is the whole plan done.
    assert "\r" in drawn and "audit: loading data..." not in drawn
    total = planned_steps(load_config(config)) + 2  # + saving the trained model, writing the reports
    assert re.search(rf"audit: predicting and counting 600 rows \|.*\| 3/{total} steps \[\d\d:\d\d\]", drawn)
    assert re.search(rf"audit: done \|[█#]+\| {total}/{total} steps \[\d\d:\d\d\]", drawn)
