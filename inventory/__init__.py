"""Locations, stock levels, the immutable stock ledger, reservations, available-to-promise, stock sync."""
