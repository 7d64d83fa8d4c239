"""Signed links in messages: click redirects and one-click unsubscribe.

A click link carries the message token and the target URL signed with Django's signing
(SECRET_KEY): nobody can turn our domain into an open redirect or unsubscribe someone else.
"""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import reverse

from campaigns.errors import InvalidSignature

CLICK_SALT = "campaigns.click"
UNSUBSCRIBE_SALT = "campaigns.unsubscribe"


def site_url(path: str) -> str:
    """Absolute URL of a path on this site, for links in messages (SITE_URL in the
    environment; the development server by default)."""
    base = settings.SITE_URL.rstrip("/")
    return base + path


@lru_cache(maxsize=16)
def _route(name: str) -> tuple[str, str]:
    """(before, after) the one argument of a route: reversed once per process, not per link
    (reverse() costs more than the rest of a link)."""
    marker = "ARGUMENT0MARKER"
    path = reverse(name, args=[marker])
    before, after = path.split(marker)
    return before, after


def path_for(name: str, argument: str) -> str:
    before, after = _route(name)
    return f"{before}{argument}{after}"


def signed_click_url(message, url: str) -> str:
    value = signing.dumps({"m": message.token, "u": url}, salt=CLICK_SALT, compress=True)
    return site_url(path_for("campaigns:click", value))


def unsubscribe_url(message) -> str:
    return site_url(path_for("campaigns:unsubscribe", unsubscribe_token(message)))


def open_pixel_url(message) -> str:
    return site_url(path_for("campaigns:open-pixel", message.token))


def read_click(value: str) -> tuple[str, str]:
    """(message token, target url) from a click link. Raises InvalidSignature."""
    try:
        data = signing.loads(value, salt=CLICK_SALT)
    except signing.BadSignature:
        raise InvalidSignature("This link is not valid.") from None
    return data["m"], data["u"]


def unsubscribe_token(message) -> str:
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign(message.token)


def read_unsubscribe(value: str) -> str:
    try:
        return signing.Signer(salt=UNSUBSCRIBE_SALT).unsign(value)
    except signing.BadSignature:
        raise InvalidSignature("This unsubscribe link is not valid.") from None
