"""Message rendering: the Django template language over plain values of the customer, her
last order, her cart, recommended products and her coupon (the sandbox of
campaigns.services.template_context); SMS length and segment count; tracked links.

Templates are compiled and checked once per process and version; context values that need a
query (last order, recommendations) are callables, so they cost nothing unless the template
uses them.
"""

import re
from dataclasses import dataclass

from django.template import Context, Template, TemplateSyntaxError
from django.utils.html import escape

from campaigns.errors import InvalidTemplate
from campaigns.models import MessageTemplate
from campaigns.services.links import open_pixel_url, signed_click_url, site_url, unsubscribe_url
from campaigns.services.template_context import (
    ENGINE,
    check_template,
    message_context,
    sample_context,
)
from core import l10n

# GSM 03.38 basic set, and the extension set whose characters count twice.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€\f"
GSM_SET = frozenset(GSM_BASIC)
GSM_EXT_SET = frozenset(GSM_EXTENDED)
HREF_RE = re.compile(r"""href=(["'])(https?://[^"']+)\1""", re.IGNORECASE)


@dataclass
class SmsInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    length: int  # characters (GSM: septets, extension characters count two)
    segments: int
    per_segment: int


def sms_info(text: str) -> SmsInfo:
    """How an SMS is billed. Any character outside GSM-7 (Persian, Arabic, emoji) switches
    the whole message to UCS-2: 70 characters in one segment, 67 per part beyond that."""
    if all(ch in GSM_SET or ch in GSM_EXT_SET for ch in text):
        length = sum(2 if ch in GSM_EXT_SET else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: characters beyond the BMP (emoji) take two.
        length = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if length <= single:
        return SmsInfo(encoding, length, 1 if length else 0, single)
    return SmsInfo(encoding, length, -(-length // multi), multi)


@dataclass
class RenderedMessage:
    subject: str
    text: str
    html: str
    language: str


_COMPILED: dict[tuple, Template] = {}


def compile_part(source: str, *, autoescape: bool, key=None, part="template") -> Template:
    """The part compiled by the sandbox's engine and checked (template_context): raises
    InvalidTemplate naming `part` and the variable or tag it refuses. With a `key` (the
    template's id, version and language) the result is kept for the process, so a campaign
    compiles and checks each part once."""
    cache_key = (key, autoescape, source) if key else None
    if cache_key and cache_key in _COMPILED:
        return _COMPILED[cache_key]
    body = source if autoescape else "{% autoescape off %}" + source + "{% endautoescape %}"
    try:
        template = Template(body, engine=ENGINE)
    except TemplateSyntaxError as error:
        raise InvalidTemplate(
            f"{part}: Template error: {error}", fields={part: [f"Template error: {error}"]}
        ) from error
    check_template(template, part)
    if cache_key:
        if len(_COMPILED) > 2000:
            _COMPILED.clear()
        _COMPILED[cache_key] = template
    return template


def check_template_source(**parts) -> None:
    """Raise InvalidTemplate naming the first part that does not compile, or that reads a
    variable (or uses a tag) the sandbox does not allow."""
    for name, source in parts.items():
        compile_part(source or "", autoescape=True, part=name)


def parts_for(template: MessageTemplate, language: str | None):
    """(language, subject, text, html) in the customer's language when translated."""
    language = (language or "").split("-")[0].split("_")[0].lower()
    if language and language != template.language and template.pk:
        for translation in template.translations.all():
            if translation.language == language:
                return (
                    language,
                    translation.subject or template.subject,
                    translation.text or template.text,
                    translation.html or template.html,
                )
    return template.language, template.subject, template.text, template.html


def render_message(
    template, customer, *, journey_data=None, coupon=None, message=None, unsubscribe_link=None
):
    """Render the template for the customer, in her language, over plain values only
    (template_context.message_context). With a `message` (a real send), links in the HTML
    become signed click redirects and an open pixel is added. Raises InvalidTemplate."""
    language, subject, text, html = parts_for(template, customer.locale)
    if unsubscribe_link is None:
        unsubscribe_link = unsubscribe_url(message) if message else site_url("/")
    # The calendar and digits of the language she gets the message in (core.l10n): dates,
    # numbers and amounts as she reads them, whatever the sender's language.
    with l10n.for_customer(language):
        context = message_context(
            customer, coupon=coupon, unsubscribe_link=unsubscribe_link, journey_data=journey_data
        )
        return _render(template, language, (subject, text, html), context, message=message)


def _render(template, language, parts, context, *, message=None) -> RenderedMessage:
    subject, text, html = parts
    key = (template.pk, template.updated_at, language) if template.pk else None
    context = Context(context)

    def render(source, *, autoescape, letter, part):
        part_key = (letter, *key) if key else None
        return compile_part(source, autoescape=autoescape, key=part_key, part=part).render(context)

    rendered_subject = render(subject, autoescape=False, letter="s", part="subject")
    rendered_text = render(text, autoescape=False, letter="t", part="text")
    rendered_html = ""
    if html:
        rendered_html = render(html, autoescape=True, letter="h", part="html")
        if message is not None:
            rendered_html = track_html(rendered_html, message)
    return RenderedMessage(
        subject=" ".join(rendered_subject.split()),
        text=rendered_text.strip(),
        html=rendered_html,
        language=language,
    )


def track_html(html: str, message) -> str:
    def replace(match):
        quote, url = match.group(1), match.group(2)
        return f"href={quote}{escape(signed_click_url(message, url))}{quote}"

    html = HREF_RE.sub(replace, html)
    pixel_url = open_pixel_url(message)
    pixel = f'<img src="{escape(pixel_url)}" width="1" height="1" alt="">'
    if "</body>" in html:
        return html.replace("</body>", pixel + "</body>", 1)
    return html + pixel


def preview(template, customer=None, *, journey_data=None):
    """What this customer would receive (no tracking, no coupon issued); without a customer,
    what a made-up one would (template_context.sample_context). Raises InvalidTemplate."""
    if customer is None:
        parts = (template.subject, template.text, template.html)
        rendered = _render(template, template.language, parts, sample_context())
    else:
        rendered = render_message(template, customer, journey_data=journey_data)
    result = {
        "language": rendered.language,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
    }
    if template.channel_kind in ("sms", "whatsapp", "telegram", "messenger"):
        info = sms_info(rendered.text)
        result["sms"] = {
            "encoding": info.encoding,
            "length": info.length,
            "segments": info.segments,
        }
    return result
