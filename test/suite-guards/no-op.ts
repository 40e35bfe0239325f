// Stands in for the per-test allow-list check, to exercise the run-level guard alone.
