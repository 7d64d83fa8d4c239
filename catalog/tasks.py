"""Catalog's Celery tasks: small wrappers over the feed service."""

from celery import shared_task
from django.core.cache import cache

from catalog import feeds


@shared_task(name="catalog.regenerate_feeds")
def regenerate_feeds():
    """Regenerate every active channel feed; enqueued on commit after product changes and
    run on a schedule too, so listings whose publication window opens or closes appear."""
    # Cleared first: a change committed while this runs schedules the next regeneration.
    cache.delete(feeds.PENDING_KEY)
    runs = feeds.regenerate_all()
    return [
        {"feed": str(run.feed), "items": run.item_count, "refused": run.refused_count}
        for run in runs
    ]
