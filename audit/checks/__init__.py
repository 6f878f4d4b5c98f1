"""Checks: pure functions from computed statistics to findings. One check per module."""

from ._bias import check_bias
from ._conditional import check_conditional
from ._challenger import check_challenger, margin_threshold
from ._drift import check_drift
from ._explainability import check_explainability
from ._fairness import FOUR_FIFTHS, check_fairness
from ._group_gaps import check_group_gaps
from ._leakage import check_leakage
from ._lending import check_lending
from ._performance import check_performance
from ._reasons import check_reasons
from ._slices import check_slices

__all__ = ["check_challenger", "margin_threshold", "check_performance", "check_group_gaps", "check_fairness", "check_bias", "check_drift", "check_explainability", "check_slices",
           "check_leakage", "check_conditional", "check_lending", "check_reasons",
           "FOUR_FIFTHS"]
