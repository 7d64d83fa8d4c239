"""Side work handed to Celery: enqueued after the commit that caused it, and never allowed to
break that request.

Every app enqueues through here. The work itself is always in the database first (an outbox
row, a pending stock mark, a queued reply, a campaign row), so a publish that cannot reach
the broker loses nothing: it is logged, the request answers as usual, and the beat sweep of
that kind (or the next enqueue) sends it once the broker is back. The publish gives up within
CELERY_TASK_PUBLISH_RETRY_POLICY (a fraction of a second), so a dead broker costs a request
milliseconds, not the 19 s of Celery's default result-backend reconnects.
"""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import KombuError

from core.services import shared_cache

logger = logging.getLogger(__name__)


def task_of(task):
    """`task` itself, or the task registered under that name ("core.deliver_outbox").
    Services enqueue their app's tasks by name: a tasks module imports its services, so a
    service importing it back would make a cycle."""
    if not isinstance(task, str):
        return task
    if task not in current_app.tasks:
        # Outside a worker nothing has imported the apps' tasks modules yet. Import them now
        # (not through the loader's import_default_modules: its Django fixup runs
        # django.setup() again, which re-applies LOGGING in the middle of a command).
        current_app.autodiscover_tasks(force=True)
    return current_app.tasks[task]


def enqueue(task, args=(), kwargs=None, **options) -> bool:
    """Publish `task` (a task or its registered name) now (options as for apply_async). Returns False when the broker could
    not be reached within the publish retry policy; the caller's work must then be waiting in
    the database for a periodic sweep. Side work keeps no result (`ignore_result`): nobody
    waits for one, and subscribing to a dead result backend is what made a publish take
    seconds."""
    task = task_of(task)
    options.setdefault("ignore_result", True)
    try:
        task.apply_async(args, kwargs, **options)
    except KombuError as error:  # kombu re-raises every transport error as OperationalError
        logger.warning(
            "broker unreachable: %s not enqueued, it waits in the database for its sweep (%s)",
            task.name,
            error,
        )
        return False
    return True


def enqueue_debounced(key, window, task, args=(), *, countdown, if_cache_down=False) -> bool:
    """Publish `task` to run after `countdown` seconds, unless one was published under `key`
    in the last `window` seconds (a burst of changes, one run). Returns whether it published.
    A publish the broker refused frees the key, so the next change or the sweep tries again.
    With the shared cache down the debounce answers `if_cache_down`: False for a change whose
    work is marked pending in the database for beat's sweep, True for that sweep itself."""
    task = task_of(task)
    use = f"{task.name} debounce"
    if not shared_cache.claim(key, window, use=use, if_unavailable=if_cache_down):
        return False
    if not enqueue(task, args, countdown=countdown):
        shared_cache.release(key, use=use)
        return False
    return True


def enqueue_after_commit(task, *args, **kwargs) -> None:
    """`task.delay(*args, **kwargs)` once the current transaction commits (at once outside
    one); a failed publish is logged by `enqueue`, never raised into the request. The same
    task with the same arguments is published once per transaction, however often it is
    asked for (ten outbox events, one delivery run)."""
    task = task_of(task)
    key = (task.name, repr(args), repr(sorted(kwargs.items())))
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        open_savepoints = set(connection.savepoint_ids)
        for savepoints, callback, _robust in connection.run_on_commit:
            # Only a request registered where a rollback would undo this one too stands for it.
            if getattr(callback, "enqueue_key", None) == key and set(savepoints) <= open_savepoints:
                return

    def publish_after_commit():
        enqueue(task, args, kwargs)

    publish_after_commit.__qualname__ = f"enqueue_after_commit({task.name})"
    publish_after_commit.enqueue_key = key
    transaction.on_commit(publish_after_commit, robust=True)


def after_commit(func, *args, **kwargs) -> None:
    """Call `func(*args, **kwargs)`, a function that schedules side work, once the current
    transaction commits. Whatever it raises is logged (Django's robust on_commit), never
    raised into the request whose data is already committed."""

    def call_after_commit():
        func(*args, **kwargs)

    call_after_commit.__qualname__ = f"after_commit({getattr(func, '__qualname__', func)})"
    transaction.on_commit(call_after_commit, robust=True)
