"""Celery tasks of orders: small wrappers around services."""

from celery import shared_task

from orders.services import detect_abandoned_carts as detect


@shared_task(name="orders.detect_abandoned_carts")
def detect_abandoned_carts():
    return detect()
