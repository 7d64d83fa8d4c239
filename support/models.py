"""Support tables."""
