"""Writing the reports says what it does: "saving the model" while the trained model's file is written
(a large model takes a while, and progress used to end on an earlier step), then the reports."""

from __future__ import annotations

import sys
from pathlib import Path

import audit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_bad_input import BINARY, _frame  # noqa: E402


def test_saving_the_model_is_its_own_progress_step(tmp_path):
    _frame().to_csv(tmp_path / "small.csv", index=False)
    raw = {**BINARY, "model": {"train": {"estimator": "sklearn.linear_model.LogisticRegression"}}}
    steps: list[str] = []
    result = audit.run(audit.config_from_dict(raw, source="audit.yaml", base_dir=str(tmp_path)), progress=steps.append)
    assert result.model_bytes is not None
    audited = len(steps)
    written = result.write(tmp_path / "out", history=False, progress=steps.append)
    after = steps[audited:]
    saving = [s for s in after if s.startswith("saving the model")]
    assert len(saving) == 1 and "model.skops" in saving[0]
    size = (written.files["model"]).stat().st_size
    assert size == len(result.model_bytes)
    # The stated size is the file's, in the unit a reader expects.
    expected = f"{size} bytes" if size < 1_000 else (f"{size / 1_000:.1f} kB" if size < 1_000_000
                                                     else f"{size / 1_000_000:.1f} MB")
    assert saving[0] == f"saving the model (model.skops, {expected})"
    # Nothing of the audit's own steps is said while writing; the reports come after the model.
    assert not any(s.startswith("training") for s in after)
    assert after.index(saving[0]) < next(i for i, s in enumerate(after) if s.startswith("writing the reports"))
