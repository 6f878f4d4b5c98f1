"""`audit --help`, `audit validate` and `audit init` start without the heavy libraries only `audit run` needs.

Each command runs in a fresh interpreter (the test process has long imported everything), through
`audit.cli.main`, and reports back which modules it loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import ADULT, ROOT

#: Modules an audit run needs and the light commands must not load: scipy.stats alone takes about a second
#: to import; scikit-learn's estimators, fairlearn and shap more.
HEAVY = ("scipy.stats", "shap", "fairlearn", "lightgbm", "xgboost", "sklearn.ensemble", "sklearn.linear_model",
         "sklearn.tree", "sklearn.svm", "sklearn.neighbors", "sklearn.naive_bayes", "sklearn.neural_network",
         "sklearn.model_selection", "sklearn.metrics")

_PROBE = """
import json, sys
import audit.cli
try:
    code = audit.cli.main(sys.argv[1:])
except SystemExit as exc:  # --help exits from argparse
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _run_in_fresh_interpreter(*, args: list[str], cwd: Path) -> tuple[int, set[str], str]:
    """Run ``audit.cli.main(args)`` in a new interpreter; its exit code, loaded modules and stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", _PROBE, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, check=False)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"]), proc.stdout


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_help_loads_no_heavy_module(tmp_path):
    code, modules, out = _run_in_fresh_interpreter(args=["--help"], cwd=tmp_path)
    assert code == 0
    assert "audit run" not in out and "{run,validate,compare,init}" in out
    assert _heavy(modules) == []
    assert "audit._run" not in modules and "audit.findings._document" not in modules


def test_validate_checks_the_adult_config_fully_and_loads_no_heavy_module(tmp_path):
    code, modules, out = _run_in_fresh_interpreter(args=["validate", str(ADULT / "audit.yaml")], cwd=tmp_path)
    assert code == 0
    assert out.strip().endswith("examples/adult/audit.yaml: valid. 16281 evaluation rows, 11 features, "
                                "6 groupings; reports go to reports/adult-income/.")
    # It did read the data and build the groups, not only parse the YAML.
    assert {"audit.inputs._data", "audit.inputs._groups", "audit.settings._config", "pandas"} <= modules
    assert _heavy(modules) == []


def test_validate_of_a_bad_config_still_reports_the_error(tmp_path):
    config = tmp_path / "audit.yaml"
    config.write_text((ADULT / "audit.yaml").read_text().replace("target: income", "target: no_such_column"))
    (tmp_path / "data").symlink_to(ADULT / "data")
    code, modules, _ = _run_in_fresh_interpreter(args=["validate", str(config)], cwd=tmp_path)
    assert code == 2
    assert _heavy(modules) == []


def test_init_writes_a_config_and_loads_no_heavy_module(tmp_path):
    frame = pd.read_csv(ADULT / "data" / "adult_test.csv.gz", nrows=500)
    frame.to_csv(tmp_path / "people.csv", index=False)
    code, modules, out = _run_in_fresh_interpreter(args=["init", str(tmp_path / "people.csv")], cwd=tmp_path)
    assert code == 0
    assert out.startswith(f"wrote {tmp_path / 'audit.yaml'}: target 'income'")
    assert "sensitive:" in (tmp_path / "audit.yaml").read_text()
    assert _heavy(modules) == []


@pytest.mark.parametrize("name", ["run", "AuditResult", "AuditConfig", "AuditError", "load_config",
                                  "config_from_dict", "__version__"])
def test_the_public_api_is_still_there(name):
    import audit

    assert name in dir(audit)
    assert getattr(audit, name) is not None
    if name != "__version__":
        assert getattr(audit, name).__name__ == name


def test_an_unknown_attribute_is_an_attribute_error():
    import audit

    with pytest.raises(AttributeError, match="no_such_name"):
        audit.no_such_name  # noqa: B018 - the access is the test
