"""Inputs: reading data and models, the subgroups of the rows, the row sample, atomic writes."""
