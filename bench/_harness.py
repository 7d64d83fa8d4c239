"""Shared by the benchmarks: a throwaway database and one-line result printing."""

import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


@contextmanager
def throwaway_database():
    """A fresh, migrated test database (test_<name> on PostgreSQL, in memory on SQLite),
    destroyed afterwards; the demo database is never touched."""
    import django

    django.setup()
    import logging

    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    logging.disable(logging.WARNING)  # refused requests are expected; keep the figures readable
    setup_test_environment(debug=False)
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def timed(func, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return samples


def percentile(samples, share):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(label, value, unit, target, *, lower_is_better=True):
    """One line: figure, target, and how far off (or inside) it is."""
    ok = value <= target if lower_is_better else value >= target
    ratio = value / target if target else float("inf")
    sign = "<=" if lower_is_better else ">="
    verdict = "OK  " if ok else "MISS"
    print(
        f"{verdict} {label:<52} {value:>10.2f} {unit:<6} target {sign} {target:g} {unit}  ({ratio:.2f}x target)"
    )
    return ok


def median_ms(samples):
    return statistics.median(samples) * 1000
