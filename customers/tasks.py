"""Customers' Celery tasks: small wrappers over services."""

from celery import shared_task

from customers.services.rollups import refresh_rollups


@shared_task(name="customers.refresh_rollups")
def refresh_rollups_task():
    """On beat: the dashboards' and reports' daily figures of yesterday and today."""
    return refresh_rollups()
