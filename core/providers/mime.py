"""The bytes of one email (RFC 5322 / MIME), composed directly for the SMTP adapter.

Django's EmailMultiAlternatives builds the same message through the email package's generic
MIME tree and generator, which folds every header through `email.header.Header` and compiles
a new regular expression per message to check its boundary: about half a millisecond of CPU
per email, more than the whole SMTP dialogue with a local relay. A campaign sends hundreds
per second, so the SMTP adapter composes the few shapes it sends (text, or text with an HTML
alternative) itself, with the rules Django applies:

- no header may contain a line break (header injection), as Django's BadHeaderError;
- non-ASCII header values are RFC 2047 encoded, addresses through Django's sanitize_address
  (IDNA domains, encoded display names); long headers are folded as the email package does;
- each part is UTF-8, "7bit" or "8bit" like Django's (never base64), or quoted-printable when
  a line is longer than the 998 octets RFC 5322 allows;
- every line ends in CRLF, as SMTP requires.
"""

import re
import uuid
from email.header import Header
from email.utils import formatdate, getaddresses
from functools import lru_cache

from django.conf import settings
from django.core.mail.message import sanitize_address, utf8_charset_qp

LINE_LIMIT = 998  # octets per line, RFC 5322 2.1.1
FOLD_AT = 78  # header lines longer than this are folded, as the email package does
ADDRESS_HEADERS = frozenset({"from", "to", "cc", "reply-to", "sender"})
_NEWLINES = re.compile(r"\r\n|\r|\n")
# A bare ASCII addr-spec needs no parsing; anything else goes through sanitize_address.
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+\Z")


class InvalidEmail(ValueError):
    """A header with a line break or an address that cannot be parsed."""


@lru_cache(maxsize=64)
def _sanitized(address) -> str:
    try:
        return sanitize_address(address, "utf-8")
    except ValueError as error:
        raise InvalidEmail(str(error)) from None


def envelope_address(address: str) -> str:
    """The address as the SMTP envelope takes it (Django's sanitize_address)."""
    if _PLAIN_ADDRESS.match(address):
        return address
    return _sanitized(address)


def _header(name: str, value: str) -> str:
    value = str(value)
    if "\n" in value or "\r" in value:
        raise InvalidEmail(f"Header values can't contain newlines (got {value!r} for {name}).")
    if value.isascii():
        if len(name) + 2 + len(value) <= FOLD_AT:
            return f"{name}: {value}"
        folded = Header(value, header_name=name).encode(linesep="\r\n")
    elif name.lower() in ADDRESS_HEADERS:
        folded = ", ".join(_sanitized(pair) for pair in getaddresses([value]))
    else:
        folded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {folded}"


def _part_body(text: str) -> tuple[str, str]:
    """(Content-Transfer-Encoding, body with CRLF line ends) of one text part."""
    lines = _NEWLINES.split(text)
    if any(len(line) > LINE_LIMIT // 4 and len(line.encode()) > LINE_LIMIT for line in lines):
        encoded = utf8_charset_qp.body_encode(text)
        return "quoted-printable", "\r\n".join(_NEWLINES.split(encoded))
    return ("7bit" if text.isascii() else "8bit"), "\r\n".join(lines)


def _part_headers(subtype: str, text: str) -> tuple[list[str], str]:
    encoding, body = _part_body(text)
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {encoding}",
    ], body


def compose(
    *, subject: str, text: str, html: str, from_email: str, to: str, message_id: str, headers
) -> bytes:
    """The message as bytes ready for `smtplib.SMTP.sendmail`. Raises InvalidEmail.

    As in Django, a "From" or "To" in `headers` replaces the header line only (not the
    envelope) and a "Date" replaces the generated one; the Message-ID is always ours."""
    named = {name.lower() for name in headers}
    top = [
        _header("Subject", subject),
        _header("From", headers.get("From", from_email)),
        _header("To", headers.get("To", to)),
    ]
    if "date" not in named:
        top.append(f"Date: {formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}")
    top.append(_header("Message-ID", message_id))
    top += [
        _header(name, value)
        for name, value in headers.items()
        if name.lower() not in {"from", "to", "subject", "message-id"}
    ]
    text_headers, text_body = _part_headers("plain", text)
    if not html:
        # No line end after the body: smtplib adds the one the DATA terminator needs.
        return "\r\n".join([*text_headers, *top, "", text_body]).encode()
    html_headers, html_body = _part_headers("html", html)
    boundary = f"===============omni{uuid.uuid4().int:039d}=="
    while boundary in text_body or boundary in html_body:  # as likely as a guessed UUID
        boundary = f"===============omni{uuid.uuid4().int:039d}=="
    lines = [
        "Content-Type: multipart/alternative;",
        f' boundary="{boundary}"',
        "MIME-Version: 1.0",
        *top,
        "",
        f"--{boundary}",
        *text_headers,
        "",
        text_body,
        f"--{boundary}",
        *html_headers,
        "",
        html_body,
        f"--{boundary}--",
        "",
    ]
    return "\r\n".join(lines).encode()
