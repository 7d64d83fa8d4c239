"""Transactions that PostgreSQL may abort for a reason outside the request: a deadlock."""

import logging

from django.db import OperationalError, transaction

logger = logging.getLogger(__name__)


def is_deadlock(error: BaseException) -> bool:
    """PostgreSQL chose this transaction as a deadlock's victim (Django wraps psycopg's
    DeadlockDetected in an OperationalError)."""
    cause = error.__cause__ if isinstance(error, OperationalError) else error
    return type(cause).__name__ == "DeadlockDetected"


def atomic_retrying_a_deadlock(work, *, using=None):
    """`work()` in a transaction of its own; run once more if PostgreSQL aborted it as a
    deadlock's victim (it was rolled back whole, so the second run starts clean).

    Services lock rows in one stable order so that they do not deadlock with each other;
    this covers the rest (a lock another code path takes in a different order). Inside an
    outer transaction the rows that transaction already holds would stay locked, so the
    error goes to the outer transaction's owner instead."""
    retry = not transaction.get_connection(using).in_atomic_block
    try:
        with transaction.atomic(using=using):
            return work()
    except OperationalError as error:
        if not (retry and is_deadlock(error)):
            raise
        logger.warning("deadlock victim, running once more: %s", error)
    with transaction.atomic(using=using):
        return work()
