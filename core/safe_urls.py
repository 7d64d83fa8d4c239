"""Which URLs from outside (customers, providers, partners) may become a link or an image.

Only absolute http and https URLs, and paths under our own MEDIA_URL, pass; anything else
(`javascript:`, `data:`, `vbscript:`, protocol-relative `//host`, ...) is refused. Browsers
drop leading and trailing spaces and control characters and every tab and newline before
they read a URL's scheme, so `"  java\\tscript:..."` is read here the same way.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings

ALLOWED_SCHEMES = ("http", "https")
# What the WHATWG URL parser strips before parsing: C0 controls and space at both ends,
# ASCII tab and newline anywhere.
_EDGES = "".join(chr(c) for c in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")


def _media_prefix() -> str:
    media_url = settings.MEDIA_URL or ""
    return media_url if media_url.startswith("/") else "/" + media_url


def safe_url(value) -> str:
    """The URL as a browser would read it when it is http(s) or one of our media paths,
    else "" (so callers drop the link or image)."""
    if not isinstance(value, str):
        return ""
    url = _TAB_OR_NEWLINE.sub("", value.strip(_EDGES))
    if not url:
        return ""
    if url.startswith(_media_prefix()) and not url.startswith("//"):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() in ALLOWED_SCHEMES and parts.netloc:
        return url
    return ""


def is_safe_url(value) -> bool:
    return bool(safe_url(value))
