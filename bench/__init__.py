"""Benchmarks of the analysis product (`make bench`, never part of `make test`): `python -m bench --help`."""
