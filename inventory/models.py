"""Inventory tables."""
