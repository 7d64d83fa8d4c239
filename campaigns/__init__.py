"""Segments, templates, campaigns, journeys, coupons, sends, tracking and attribution."""
