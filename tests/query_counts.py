"""N+1 guards that one extra query per row fails.

A bare `django_assert_max_num_queries(12)` over three rows lets a loop of one query per row
through whenever the page happens to be under the ceiling. `assert_queries_do_not_grow`
counts the queries of the same request over FEW rows and over MANY, and fails unless the
counts are equal: one query more per row is nine more queries, whatever the ceiling.
"""

from django.db import connection
from django.test.utils import CaptureQueriesContext

FEW = 3
MANY = 12


def count_queries(action) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def assert_queries_do_not_grow(add_rows, fetch, *, few=FEW, many=MANY, at_most=None) -> int:
    """`add_rows(n)` adds n rows of what the page lists; `fetch()` makes the request (and
    checks its answer). With `few` rows, `fetch()` runs once to fill per-process caches (the
    content types, a permission cache), then its queries are counted; after `many - few`
    rows more, counted again. Fails unless both counts are equal (and, with `at_most`, no
    higher than it). Returns the count."""
    add_rows(few)
    fetch()
    with_few, _ = count_queries(fetch)
    add_rows(many - few)
    with_many, statements = count_queries(fetch)
    assert with_few == with_many, (
        f"{with_few} queries with {few} rows, {with_many} with {many}: a query per row?\n"
        + "\n".join(statements)
    )
    if at_most is not None:
        assert with_many <= at_most, f"{with_many} queries, at most {at_most}:\n" + "\n".join(
            statements
        )
    return with_many
