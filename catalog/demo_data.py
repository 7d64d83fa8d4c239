"""Catalog demo data (stages follow)."""
