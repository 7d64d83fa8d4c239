"""Catalog's Celery tasks: small wrappers over the feed and import services, and
`send_build`, which hands a queued feed build to a worker."""

from celery import shared_task

from catalog import import_jobs
from catalog.models import FeedRun
from catalog.services import feeds
from core.services import shared_cache
from core.services.enqueue import enqueue_after_commit


@shared_task(name="catalog.regenerate_feeds")
def regenerate_feeds():
    """Regenerate every active channel feed; enqueued on commit after product changes and
    run on a schedule too, so listings whose publication window opens or closes appear."""
    # Cleared first: a change committed while this runs schedules the next regeneration.
    shared_cache.release(feeds.PENDING_KEY, use="catalog.regenerate_feeds debounce")
    runs = feeds.regenerate_all()
    return [
        {"feed": str(run.feed), "items": run.item_count, "refused": run.refused_count}
        for run in runs
    ]


@shared_task(name="catalog.build_feed")
def build_feed(run_id):
    """Build one queued feed run: a fetch of a feed with no file yet, or "Regenerate now"."""
    run = feeds.build_queued(run_id)
    if run is None:
        return {"run": run_id, "status": "skipped"}
    return {"run": run_id, "items": run.item_count, "refused": run.refused_count}


@shared_task(
    name="catalog.run_import",
    soft_time_limit=import_jobs.SOFT_TIME_LIMIT,
    time_limit=import_jobs.TIME_LIMIT,
)
def run_import(import_id):
    """Run one queued catalog import (POST /api/v1/catalog/imports)."""
    job = import_jobs.run_import(import_id)
    return {"import": import_id, "status": job.status if job else "skipped"}


@shared_task(name="catalog.start_waiting_imports")
def start_waiting_imports():
    """Beat: imports whose publish was lost, or whose worker died."""
    return {"sent": import_jobs.start_waiting_imports()}


def send_build(run: FeedRun, *, after):
    """Hand a queued build (see `feeds.request_build`) to a worker once the transaction
    commits. In the embedded mode (no broker: tasks run eagerly, in-process) it runs once
    `after`, the response of the request that asked, has been sent, so that request answers
    at once in either mode. A publish the broker refuses is logged, never raised: the run
    waits queued and counts as lost after BUILD_PENDING_SECONDS, when the next fetch queues
    another."""
    if build_feed.app.conf.task_always_eager:
        # What the server calls once the response is out (Django's FileResponse uses it too).
        after._resource_closers.append(lambda: build_feed.delay(run.pk))
    else:
        enqueue_after_commit(build_feed, run.pk)
