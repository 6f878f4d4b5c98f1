"""Findings: the findings document (and its manifest), the gate policy and the history of runs."""
