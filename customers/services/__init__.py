"""Customers' writes, one module per capability. Other apps import from here:

from customers.services import resolve_customer, record_event, record_consent
"""

from customers.services.consent import record_consent
from customers.services.events import backdate_event, record_event, track_event
from customers.services.figures import recompute_lifetime_figures
from customers.services.identities import mark_unreachable
from customers.services.ingest import ingest_batch
from customers.services.merging import (
    approve_merge_candidate,
    merge_customers,
    reject_merge_candidate,
)
from customers.services.privacy import erase_customer, export_customer
from customers.services.resolution import resolve_customer, resolve_customer_detailed

__all__ = [
    "approve_merge_candidate",
    "backdate_event",
    "erase_customer",
    "export_customer",
    "ingest_batch",
    "mark_unreachable",
    "merge_customers",
    "recompute_lifetime_figures",
    "record_consent",
    "record_event",
    "reject_merge_candidate",
    "resolve_customer",
    "resolve_customer_detailed",
    "track_event",
]
