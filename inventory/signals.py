"""Signals inventory sends so other apps can follow stock without inventory importing them
(orders listens to tell a pickup's customer and the staff)."""

from django.dispatch import Signal

# Sent inside the receiving transaction: transfer, reservation (the pickup hold it carried,
# or None), outcome ("", "held", "replanned" or "released"; see receive_units).
transfer_received = Signal()

# Sent once per transfer past its expected date: transfer, reservation, outcome
# ("", "replanned" or "waiting"; see notice_late_transfers).
transfer_late = Signal()

# Sent inside the movement's transaction when units became available at a location where
# none were (available = on hand - reserved went from 0 or less to more than 0):
# pairs = [(variant_id, location_id), ...]. Campaigns tells the customers who wait for it.
stock_replenished = Signal()
