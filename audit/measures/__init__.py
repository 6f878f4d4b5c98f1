"""Measures: what the audit measures beyond the group metrics (data bias, drift, explanations, slices,
mitigation, curves, regulatory views, comparison with a baseline). Frozen data; nothing is judged here."""
