"""The signed link to the review page a customer gets after an order. Support serves the page
(support.views_reviews) and campaigns puts the link in the review request message; both build
and read it here, so campaigns need not import support.

The link carries the customer's public id and the order number, signed with SECRET_KEY under
its own salt and dated: it opens the page for REVIEW_LINK_MAX_AGE_DAYS (60 by default).
"""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "support.review-link"
ROUTE = "support:review-form"


class InvalidReviewLink(Exception):
    """The link was altered, belongs to another site, or is older than its lifetime;
    `expired` tells the last case apart."""

    def __init__(self, message, *, expired=False):
        super().__init__(message)
        self.expired = expired


def max_age_seconds() -> int:
    return int(getattr(settings, "REVIEW_LINK_MAX_AGE_DAYS", 60)) * 86400


def review_token(customer_public_id, order_number: str) -> str:
    return signing.dumps({"c": str(customer_public_id), "o": str(order_number)}, salt=SALT)


def read_review_token(token: str) -> tuple[str, str]:
    """(customer public id, order number) of a link. Raises InvalidReviewLink."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age_seconds())
    except signing.SignatureExpired:
        raise InvalidReviewLink("This review link has expired.", expired=True) from None
    except signing.BadSignature:
        raise InvalidReviewLink("This review link is not valid.") from None
    if not isinstance(data, dict) or not data.get("c") or not data.get("o"):
        raise InvalidReviewLink("This review link is not valid.")
    return str(data["c"]), str(data["o"])


@lru_cache(maxsize=1)
def _route() -> tuple[str, str]:
    marker = "REVIEWTOKENMARKER"
    before, after = reverse(ROUTE, args=[marker]).split(marker)
    return before, after


def review_url(customer_public_id, order_number: str) -> str:
    """The absolute link (SITE_URL) to the review page of this customer's order."""
    before, after = _route()
    token = review_token(customer_public_id, order_number)
    return settings.SITE_URL.rstrip("/") + f"{before}{token}{after}"
