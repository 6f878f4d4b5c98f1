"""Engines: the one pass over the evaluation rows that yields the audit's additive statistics.

Both engines return the same :class:`EvaluationPass`: the task's additive part and the
missing-value counts in canonical leaf order, the seeded row sample and the
leaf coder. Everything after that pass (bootstrap, checks, findings) is the
same code whichever engine ran it (design §5).

``local`` reads the data in this process, whole or in batches. ``dask`` maps
the same per-part function over the partitions of a dask DataFrame on a
cluster and sums the results; it needs the optional ``dask`` extra, imported
only when that engine runs.
"""

from __future__ import annotations

from ._dask import DaskRun, dask_pass, import_dask
from ._local import EvaluationPass, PassSettings, local_pass

__all__ = ["EvaluationPass", "PassSettings", "DaskRun", "local_pass", "dask_pass", "import_dask", "ENGINES"]

#: Engine names accepted by ``--engine`` and the config's ``engine``.
ENGINES = ("local", "dask")
