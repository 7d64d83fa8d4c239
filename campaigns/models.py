"""Campaigns tables."""
