"""Catalog tables."""
