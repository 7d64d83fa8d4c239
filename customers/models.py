"""Customers tables."""
