"""The CI recipes in examples/ci: valid YAML with the promised steps, and their commands pass when run here."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

CI = ROOT / "examples" / "ci"
BIN = str(Path(sys.executable).parent)  # the environment's `audit` console script


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _env(tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    # One thread per process: the test shares the machine; results do not depend on it.
    return {**os.environ, **extra, "PATH": BIN + os.pathsep + os.environ.get("PATH", ""), "OMP_NUM_THREADS": "1"}


def _github() -> tuple[dict, list[dict]]:
    wf = _load(CI / "github-workflow.yml")
    return wf, wf["jobs"]["audit"]["steps"]


def test_github_workflow_is_valid_yaml_with_the_steps():
    wf, steps = _github()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert "pull_request" in triggers and triggers["push"]["branches"] == ["main"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    for action in ("actions/checkout", "actions/setup-python", "actions/upload-artifact",
                   "mikepenz/action-junit-report", "actions/cache/restore", "actions/cache/save"):
        assert action in uses, action
    audit = next(s for s in steps if s.get("id") == "audit")
    assert "audit validate" in audit["run"] and "audit run" in audit["run"] and "--baseline" in audit["run"]
    assert '>> "$GITHUB_STEP_SUMMARY"' in audit["run"] and "summary.md" in audit["run"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    junit = next(s for s in steps if s.get("uses", "").startswith("mikepenz/action-junit-report"))
    assert upload["if"] == "always()" and junit["if"] == "always()"
    assert junit["with"]["report_paths"].endswith("/junit.xml")
    assert _load(CI / "audit.yaml")["name"] == wf["env"]["AUDIT_NAME"]


def test_gitlab_job_and_pre_commit_hook_are_valid():
    job = _load(CI / "gitlab-ci.yml")["model-audit"]
    assert job["artifacts"]["reports"]["junit"] == "reports/ci-adult/junit.xml"
    assert "reports/ci-adult/" in job["artifacts"]["paths"] and job["artifacts"]["when"] == "always"
    assert any("audit run" in line for line in job["script"])
    hooks = _load(ROOT / ".pre-commit-hooks.yaml")
    local = _load(CI / "pre-commit-config.yaml")["repos"][0]["hooks"]
    for hook in (hooks[0], local[0]):
        assert hook["id"] == "audit-validate" and hook["entry"] == "audit validate"
        pattern = re.compile(hook["files"])
        assert pattern.search("examples/ci/audit.yaml") and pattern.search("audit.yml")
        assert not pattern.search("audit.yaml.bak") and not pattern.search("myaudit.yaml")


def test_pre_commit_hook_entry_passes_on_the_example_configs(tmp_path):
    hook = _load(ROOT / ".pre-commit-hooks.yaml")[0]
    files = ["examples/ci/audit.yaml", "examples/adult/audit.yaml"]
    proc = subprocess.run([*shlex.split(hook["entry"]), *files], cwd=ROOT, env=_env(tmp_path, {}),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(": valid.") == 2


@pytest.fixture(scope="module")
def github_run(tmp_path_factory):
    """The workflow's audit step, run by bash exactly as written, without a baseline."""
    tmp = tmp_path_factory.mktemp("github")
    wf, steps = _github()
    script = next(s for s in steps if s.get("id") == "audit")["run"]
    env = _env(tmp, {**wf["env"], "AUDIT_OUT": str(tmp / "reports"), "AUDIT_BASELINE": str(tmp / "none.json"),
                     "GITHUB_STEP_SUMMARY": str(tmp / "step_summary.md")})
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    return tmp, proc


@pytest.mark.slow
def test_github_audit_step_passes_locally_and_posts_the_summary(github_run):
    tmp, proc = github_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = (tmp / "step_summary.md").read_text(encoding="utf-8")
    assert summary.startswith("## PASS") and "Model audit: Income classifier (CI gate)" in summary
    folder = tmp / "reports" / "ci-adult"
    assert {"model_card.html", "junit.xml", "findings.json", "index.html"} <= {p.name for p in folder.iterdir() if not p.name.startswith(".")}


@pytest.mark.slow
def test_gitlab_script_passes_locally_with_the_baseline(github_run, tmp_path):
    # The GitLab job, run after the GitHub step: that run's findings are its baseline (same model: no regression).
    first, _ = github_run
    job = _load(CI / "gitlab-ci.yml")["model-audit"]
    baseline = tmp_path / "audit-baseline" / "findings.json"
    baseline.parent.mkdir()
    baseline.write_bytes((first / "reports" / "ci-adult" / "findings.json").read_bytes())
    env = _env(tmp_path, {**job["variables"], "AUDIT_OUT": str(tmp_path / "reports"),
                          "AUDIT_BASELINE": str(baseline), "CI_COMMIT_BRANCH": "feature",
                          "CI_DEFAULT_BRANCH": "main"})
    proc = subprocess.run(["bash", "-e", "-c", "\n".join(job["script"])], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "### Changes since last audit" in proc.stdout and "**0 significant regressions**" in proc.stdout
