"""Statistics: the additive tables of each task, the one engine that turns them into metrics with
intervals and tests, the metric registries, and the passes over the rows (in process or on dask)."""
