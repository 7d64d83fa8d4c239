"""Moved to campaigns.selectors.reports (reports only read). Kept for the two callers outside
the campaigns code that still import it from here, customers/api/reports.py and
tests/customers/test_reports_over_time.py; delete this module once they import
campaigns.selectors.reports."""

from campaigns.selectors.reports import ATTRIBUTION_MODELS, attribution_over_time, campaign_weeks

__all__ = ["ATTRIBUTION_MODELS", "attribution_over_time", "campaign_weeks"]
