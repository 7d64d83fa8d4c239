"""Store-local marketing's Celery tasks and start-up wiring (campaigns/apps.py calls
`register()`): home stores worked out again, and "your size is back in your store" told when
inventory says a variant was replenished at a store."""

from celery import shared_task

from campaigns.services import store_local
from core.services.enqueue import enqueue_after_commit
from customers.links import register_customer_link
from inventory.signals import stock_replenished

TELL_TASK = "campaigns.tell_size_back_in_store"


@shared_task(name="campaigns.refresh_home_stores")
def refresh_home_stores():
    """Beat, daily: every customer's home store, worked out again in one statement
    (cancelled orders and merges included)."""
    return store_local.refresh_home_stores()


@shared_task(name="campaigns.refresh_recent_home_stores")
def refresh_recent_home_stores():
    """Beat, every minute: the home stores of customers with new orders or store visits."""
    return store_local.refresh_recent_home_stores()


@shared_task(name=TELL_TASK)
def tell_size_back_in_store(pairs):
    """After a replenishment committed: the waiting customers' `size_back_in_store` events.
    Safe to run twice (each event's message id is unique per customer, variant and day)."""
    store_local.refresh_recent_home_stores()
    return store_local.tell_size_back_in_store([tuple(pair) for pair in pairs])


def _on_stock_replenished(sender, pairs, **kwargs):
    enqueue_after_commit(TELL_TASK, [list(pair) for pair in pairs])


def register():
    """A merge re-points home stores (the next refresh keeps one); replenishments are told.
    An export shows her home store and an erasure forgets it through campaigns.privacy."""
    register_customer_link("campaigns.HomeStore", "customer")
    stock_replenished.connect(_on_stock_replenished, dispatch_uid="campaigns.store_local")
