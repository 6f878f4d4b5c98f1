"""Report sets: the files of one run appear together or not at all, and what a killed run leaves is cleaned up."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from audit.inputs._io import CURRENT, RUNS, ReportSet, remove_leftovers

ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    """The process id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _shown(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if not p.name.startswith(".") and p.is_file()}


def test_a_published_set_replaces_the_earlier_whole_and_drops_names_it_lacks(tmp_path):
    folder = tmp_path / "r"
    first = ReportSet(folder)
    first.write("findings.json", b"1")
    first.write("model_card.html", b"card 1")
    first.write("junit.xml", b"junit 1")
    first.publish()
    assert _shown(folder) == {"findings.json": b"1", "junit.xml": b"junit 1", "model_card.html": b"card 1"}
    second = ReportSet(folder)
    second.write("findings.json", b"2")
    second.write("summary.md", b"summary 2")
    # Until it is published nothing of the second run is seen.
    assert _shown(folder) == {"findings.json": b"1", "junit.xml": b"junit 1", "model_card.html": b"card 1"}
    shown = second.publish()
    assert sorted(shown) == ["findings.json", "summary.md"]
    # The first run's card and JUnit report do not stay beside the second run's findings.
    assert _shown(folder) == {"findings.json": b"2", "summary.md": b"summary 2"}
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["findings.json", "summary.md"]
    assert [p.name for p in (folder / RUNS).iterdir()] == [Path(os.readlink(folder / CURRENT)).name]


def test_a_discarded_set_leaves_the_earlier_one_untouched(tmp_path):
    folder = tmp_path / "r"
    first = ReportSet(folder)
    first.write("findings.json", b"1")
    first.publish()
    second = ReportSet(folder)
    second.write("findings.json", b"2")
    second.discard()
    assert _shown(folder) == {"findings.json": b"1"}
    assert len(list((folder / RUNS).iterdir())) == 1


def test_plain_files_of_an_older_layout_are_adopted_and_other_files_left_alone(tmp_path):
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "findings.json").write_bytes(b"old findings")
    (folder / "model_card.html").write_bytes(b"old card")
    (folder / "notes.txt").write_bytes(b"the user's own file")
    run = ReportSet(folder)
    run.write("findings.json", b"new findings")
    run.publish(adopt=["findings.json", "model_card.html", "junit.xml"])
    # The old card was part of the old set: it goes with it (no link to nothing is left). The user's file is
    # not a report file.
    assert _shown(folder) == {"findings.json": b"new findings", "notes.txt": b"the user's own file"}
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["findings.json", "notes.txt"]


def test_leftovers_of_dead_writers_are_removed_and_a_live_writers_kept(tmp_path):
    folder = tmp_path / "r"
    published = ReportSet(folder)
    published.write("findings.json", b"1")
    published.publish()
    dead, live = _dead_pid(), os.getppid()  # the test runner's parent is alive for the whole test
    (folder / RUNS / f"{dead}-abc12345").mkdir()
    (folder / RUNS / f"{dead}-abc12345" / "findings.json").write_bytes(b"half")
    (folder / RUNS / f"{live}-def67890").mkdir()
    (folder / f".findings.json.{dead}.k2j3_x9a.tmp").write_bytes(b"half")
    (folder / f".model_card.html.{live}.zz1.tmp").write_bytes(b"being written")
    (folder / f".current.{dead}.tmp").symlink_to(f"{RUNS}/{dead}-abc12345")
    (folder / "history").mkdir()
    (folder / "history" / f".incoming-{dead}-q1w2e3").mkdir()
    (folder / "history" / f".incoming-{live}-r4t5y6").mkdir()
    removed = {p.name for p in remove_leftovers(folder)}
    assert removed == {f"{dead}-abc12345", f".findings.json.{dead}.k2j3_x9a.tmp", f".current.{dead}.tmp",
                       f".incoming-{dead}-q1w2e3"}
    left = {p.name for p in folder.iterdir()} | {p.name for p in (folder / "history").iterdir()} | \
        {p.name for p in (folder / RUNS).iterdir()}
    assert {f"{live}-def67890", f".model_card.html.{live}.zz1.tmp", f".incoming-{live}-r4t5y6"} <= left
    assert _shown(folder) == {"findings.json": b"1"}  # the shown run is never a leftover


# --- killed while writing -------------------------------------------------------------------------------------

def _small_config(folder: Path, title: str) -> Path:
    rng = np.random.default_rng(0)
    n = 300
    data = folder / "small.csv"
    if not data.exists():
        y = (rng.random(n) < 0.4).astype(int)
        pred = np.where(rng.random(n) < 0.8, y, 1 - y)
        pd.DataFrame({"sex": rng.choice(["F", "M"], n), "race": rng.choice(["A", "B", "C"], n),
                      "x": rng.normal(size=n), "y": y, "pred": pred,
                      "score": np.clip(pred * 0.6 + rng.random(n) * 0.4, 0, 1)}).to_csv(data, index=False)
    config = folder / "audit.yaml"
    config.write_text(yaml.safe_dump({
        "name": "killed", "report": {"title": title, "description": f"description of {title}"},
        "data": {"test": "small.csv", "target": "y", "positive_label": 1, "sensitive": ["sex", "race"]},
        "model": {"predictions": {"predictions": "pred", "scores": "score"}},
        "bootstrap": {"replicates": 10}}), encoding="utf-8")
    return config


_SET = ("findings.json", "model_card.html", "junit.xml", "summary.md", "README.md", "model_card_toolkit.json")


def _which_run(folder: Path) -> str:
    """The title of the run whose files are shown; fails unless every file of the set is that one run's."""
    doc = json.loads((folder / "findings.json").read_text(encoding="utf-8"))
    title, created = doc["audit"]["title"], doc["audit"]["created"]
    assert sorted(p for p in _SET if (folder / p).exists()) == sorted(_SET), "a file of the set is missing"
    for name in ("model_card.html", "summary.md", "README.md", "model_card_toolkit.json"):
        text = (folder / name).read_text(encoding="utf-8")
        assert title in text, f"{name} is not of the run {title!r}"
        other = set(re.findall(r"run-\d+", text)) - {title}
        assert not other, f"{name} names {other} beside {title!r}"
    assert f'timestamp="{created}"' in (folder / "junit.xml").read_text(encoding="utf-8")
    return title


@pytest.mark.slow
def test_a_run_killed_at_any_moment_of_writing_leaves_one_whole_set(tmp_path):
    out = tmp_path / "out"
    folder = out / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    errors = tmp_path / "stderr.txt"

    def start(title: str) -> subprocess.Popen:
        config = _small_config(tmp_path, title)
        with errors.open("wb") as err:
            return subprocess.Popen([sys.executable, "-m", "audit", "run", str(config), "--out", str(out),
                                     "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=err)

    first = start("run-0")
    assert first.wait(timeout=120) in (0, 1), errors.read_text()
    shown = _which_run(folder)
    assert shown == "run-0"
    kills, outcomes = 0, {"earlier": 0, "new": 0}
    delays = [0.0, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.012, 0.016, 0.02, 0.03, 0.04, 0.05, 0.07, 0.09,
              0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.0, 0.001, 0.004]
    for k, delay in enumerate(delays, start=1):
        title = f"run-{k}"
        proc = start(title)
        # Wait until this process starts writing its run (its folder under .runs, or a temporary file).
        deadline = time.monotonic() + 60
        started = False
        while time.monotonic() < deadline and proc.poll() is None:
            runs = folder / RUNS
            names = [p.name for p in runs.iterdir()] if runs.is_dir() else []
            if any(n.startswith(f"{proc.pid}-") for n in names) or \
                    any(f".{proc.pid}." in p.name for p in folder.iterdir()):
                started = True
                break
            time.sleep(0.0002)
        if delay:
            time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1 if started else 0
        proc.wait(timeout=60)
        now = _which_run(folder)
        assert now in (shown, title), f"kill {k}: shown {now!r}, expected {shown!r} or {title!r}"
        outcomes["new" if now == title else "earlier"] += 1
        shown = now
    assert kills >= 20, f"only {kills} kills landed while writing"
    # The next run removes what the killed ones left, and shows its own set.
    last = start("run-last")
    assert last.wait(timeout=120) in (0, 1), errors.read_text()
    assert _which_run(folder) == "run-last"
    assert [p.name for p in (folder / RUNS).iterdir()] == [Path(os.readlink(folder / CURRENT)).name]
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".incoming-")]
    assert outcomes["earlier"] >= 1  # some kills landed before the swap (else the test measured nothing)
