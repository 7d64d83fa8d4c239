"""Celery tasks of orders: small wrappers around services."""

from celery import shared_task


@shared_task(name="orders.detect_abandoned_carts")
def detect_abandoned_carts():
    from orders.services import detect_abandoned_carts as detect

    return detect()
