"""Reason codes: the principal reasons for each declined row, from SHAP values on the original columns.

A lender must tell each declined applicant the specific principal reasons for the decision (ECOA and
Regulation B adverse-action notices; for complex models a checklist reason is not enough). The reasons of a
row are the features whose SHAP contributions pushed its output furthest towards the adverse outcome, in
order, at most ``top_k`` of them and only those that pushed that way. Contributions are the explainer's SHAP
values folded to the original columns (:func:`~audit.measures._explain.folded_contributions`): they add up,
with the explainer's expected value, to the model's output.

Features that must not be reasons (the sensitive attributes, when the model uses them, and the configured
proxies) are never given as reasons; how often one of them would have been the principal reason is
reported instead, since the model then leans on it.

A reason is only as good as its stability: the same rows are explained a second time with another seeded
background (for a tree model, against a background sample instead of its own path statistics), and the share
of rows whose principal reason is the same in both is reported with its Wilson interval.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..inputs._model import FittedModel, _categoricals_as_text
from ..statistics._inference import wilson_interval
from ._explain import folded_contributions

__all__ = ["REASONS_NAME", "Reasons", "ReasonShare", "reason_codes", "reasons_bytes"]

REASONS_NAME = "reasons.parquet"


@dataclass(frozen=True)
class ReasonShare:
    """How often a reason is the principal one (``top``) and among the given ones (``any``)."""

    reason: str
    top: float
    any: float


@dataclass(frozen=True)
class Reasons:
    """The principal reasons of the declined rows explained, and what they say by group."""

    #: Long table: one row per (row key, rank): reason, feature, the row's value, contribution.
    table: pd.DataFrame
    declined: int
    explained: int
    top_k: int
    explainer: str
    key: str
    overall: tuple[ReasonShare, ...]
    by_group: dict[str, dict[str, tuple[ReasonShare, ...]]]
    group_sizes: dict[str, dict[str, int]]
    #: Not-permissible features and the share of explained rows where one would have been the principal reason.
    withheld: dict[str, float]
    stability: float | None
    stability_ci: tuple[float | None, float | None]
    stability_method: str


def _label(feature: str, value: Any, numeric: bool, median: float | None, texts: dict[str, Any]) -> str:
    """The reason's words: the dictionary's (a text, or ``{low, high}`` for a numeric feature, or a text by
    category), else ``feature low``/``feature high`` against the explained rows' median, or ``feature: value``."""
    entry = texts.get(feature)
    high = numeric and median is not None and value is not None and not pd.isna(value) and float(value) >= median
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict):
        if numeric and ("low" in entry or "high" in entry):
            return str(entry.get("high" if high else "low", feature))
        if str(value) in entry:
            return str(entry[str(value)])
    if numeric:
        return f"{feature} {'high' if high else 'low'}"
    return f"{feature}: {value}"


def _shares(top: list[str], given: list[set[str]]) -> tuple[ReasonShare, ...]:
    n = len(top)
    if n == 0:
        return ()
    counts = pd.Series(top).value_counts()
    everyone = pd.Series([r for s in given for r in s]).value_counts()
    reasons = sorted(set(counts.index) | set(everyone.index), key=lambda r: (-counts.get(r, 0), -everyone.get(r, 0), r))
    return tuple(ReasonShare(reason=r, top=float(counts.get(r, 0) / n), any=float(everyone.get(r, 0) / n))
                 for r in reasons[:8])


def reason_codes(model: FittedModel, frame: pd.DataFrame, *, reference: pd.DataFrame, keys: pd.Series,
                 labels: pd.DataFrame,
                 adverse_sign: float, withheld: list[str], texts: dict[str, Any], top_k: int, method: str,
                 seed: int, deadline: float, level: float, task: str) -> Reasons:
    """Principal reasons of every row of ``frame`` (the declined rows to explain).

    Parameters
    ----------
    model : FittedModel
    frame : DataFrame
        The declined rows.
    reference : DataFrame
        The rows a declined one is compared with (every evaluation row of the sample): the explainer's
        background, and the medians that say whether a value is low or high. Against the declined rows
        themselves, half of them would have "reasons" pointing the wrong way.
    keys : Series
        Each row's key in ``reasons.parquet`` (``data.id``, or the row's position in the sample).
    labels : DataFrame
        The rows' sensitive labels, for the reasons by group.
    adverse_sign : float
        ``-1`` when a higher explained output is favourable (a contribution below zero pushes towards the
        decline), ``+1`` when it is adverse (a default score).
    withheld : list of str
        Features that are never given as reasons.
    texts : dict
        The reason dictionary (``checks.reasons.text``).
    top_k : int
    method, seed, deadline, task
        The explainer, as for :func:`~audit.measures._explain.folded_contributions`.
    level : float
        Coverage of the stability interval.
    """
    X = _categoricals_as_text(frame, model.features)
    first = folded_contributions(model, X, method=method, seed=seed, deadline=deadline, task=task,
                                 background=reference)
    n = len(first.values)
    features = list(first.features)
    adverse = adverse_sign * first.values[:, :, 0]
    allowed = np.array([f not in withheld for f in features])
    numeric = {f: pd.api.types.is_numeric_dtype(frame[f]) and not pd.api.types.is_bool_dtype(frame[f])
               for f in features}
    medians = {f: float(reference[f].median()) if numeric[f] else None for f in features}
    order = np.argsort(-np.where(allowed, adverse, -np.inf), axis=1, kind="stable")
    records, top, given = [], [], []
    for i in range(n):
        row_reasons: list[str] = []
        for rank, j in enumerate(order[i, :top_k], start=1):
            if not allowed[j] or adverse[i, j] <= 0:
                break
            f = features[j]
            value = X.iloc[i][f]
            reason = _label(f, value, numeric[f], medians[f], texts)
            row_reasons.append(reason)
            records.append({"key": keys.iloc[i], "rank": rank, "reason": reason, "feature": f,
                            "value": None if pd.isna(value) else str(value),
                            "contribution": float(first.values[i, j, 0])})
        top.append(row_reasons[0] if row_reasons else "(none)")
        given.append(set(row_reasons))
    # What the withheld features would have been: the principal reason over every feature.
    principal_any = np.argmax(adverse, axis=1)
    withheld_share = {f: float(np.mean([features[j] == f and adverse[i, j] > 0 for i, j in enumerate(principal_any)]))
                      for f in features if f in withheld} if n else {}
    by_group, sizes = {}, {}
    lab = labels.iloc[:n].reset_index(drop=True)
    for attribute in lab.columns:
        text = lab[attribute].astype(str)
        by_group[attribute] = {g: _shares([top[i] for i in np.flatnonzero(text == g)],
                                          [given[i] for i in np.flatnonzero(text == g)]) for g in sorted(text.unique())}
        sizes[attribute] = {g: int((text == g).sum()) for g in sorted(text.unique())}
    # Stability: the same rows explained again with another seeded background.
    second = folded_contributions(model, X.iloc[:n], method=method, seed=seed + 1, deadline=deadline, task=task,
                                  interventional=True, background=reference)
    m = len(second.values)
    adverse2 = adverse_sign * second.values[:, :, 0]
    top2 = np.argmax(np.where(allowed, adverse2, -np.inf), axis=1)
    top1 = np.argmax(np.where(allowed, adverse[:m], -np.inf), axis=1)
    agree = int((top1 == top2).sum())
    lo, hi = wilson_interval(np.array([float(agree)]), np.array([float(m)]), level) if m else (None, None)
    how = {"tree": "TreeExplainer against a seeded background sample (interventional) instead of its path statistics",
           "linear": "LinearExplainer with another seeded background sample",
           "permutation": "the permutation explainer with another seed and background"}[first.kind]
    table = pd.DataFrame.from_records(records, columns=["key", "rank", "reason", "feature", "value", "contribution"])
    return Reasons(table=table, declined=len(frame), explained=n, top_k=top_k, explainer=first.explainer,
                   key=str(keys.name), overall=_shares(top, given), by_group=by_group, group_sizes=sizes,
                   withheld=withheld_share, stability=agree / m if m else None,
                   stability_ci=(None if lo is None else float(np.ravel(lo)[0]),
                                 None if hi is None else float(np.ravel(hi)[0])),
                   stability_method=how)


def reasons_bytes(reasons: Reasons) -> bytes:
    """``reasons.parquet``: the long table of reasons."""
    buffer = io.BytesIO()
    reasons.table.to_parquet(buffer, index=False)
    return buffer.getvalue()
