"""Message rendering: the Django template language over the customer, her last order, her
cart, recommended products and her coupon; SMS length and segment count; tracked links.

Templates are compiled once per process and version; context values that need a query (last
order, recommendations) are callables, so they cost nothing unless the template uses them.
"""

import re
from dataclasses import dataclass

from django.template import Context, Template, TemplateSyntaxError
from django.utils.html import escape

from campaigns.errors import InvalidTemplate
from campaigns.models import MessageTemplate
from campaigns.services.links import open_pixel_url, signed_click_url, site_url, unsubscribe_url

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


def compile_part(source: str, *, autoescape: bool, key=None) -> Template:
    cache_key = (key, autoescape, source) if key else None
    if cache_key and cache_key in _COMPILED:
        return _COMPILED[cache_key]
    body = source if autoescape else "{% autoescape off %}" + source + "{% endautoescape %}"
    try:
        template = Template(body)
    except TemplateSyntaxError as error:
        raise InvalidTemplate(
            f"Template error: {error}", fields={"template": [str(error)]}
        ) from error
    if cache_key:
        if len(_COMPILED) > 2000:
            _COMPILED.clear()
        _COMPILED[cache_key] = template
    return template


def check_template_source(**parts) -> None:
    """Raise InvalidTemplate naming the part that does not compile."""
    for name, source in parts.items():
        try:
            Template(source or "")
        except TemplateSyntaxError as error:
            raise InvalidTemplate(
                f"{name}: {error}", fields={name: [f"Template error: {error}"]}
            ) from error


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


def last_order_of(customer):
    from customers.models import Event

    event = (
        Event.objects.filter(customer=customer, name="order_completed")
        .select_related("channel")
        .order_by("-occurred_at", "-id")
        .first()
    )
    if event is None:
        return None
    return {
        **event.properties,
        "occurred_at": event.occurred_at,
        "channel": event.channel.name if event.channel else "",
    }


def recommended_products_for(customer, limit=3):
    """Products she looked at recently and did not buy, through the catalog's selectors."""
    from catalog.selectors import variant_by_sku
    from customers.models import Event

    bought = set()
    for properties in Event.objects.filter(customer=customer, name="order_completed").values_list(
        "properties", flat=True
    )[:20]:
        bought.update(line.get("sku") for line in properties.get("products", []) or [])
    products = []
    seen = set()
    viewed = (
        Event.objects.filter(customer=customer, name="product_viewed")
        .order_by("-occurred_at")
        .values_list("properties", flat=True)[:30]
    )
    for properties in viewed:
        sku = properties.get("sku")
        if not sku or sku in bought or sku in seen:
            continue
        seen.add(sku)
        variant = variant_by_sku(sku)
        if variant is not None:
            products.append({"sku": sku, "name": variant.product.name, "product": variant.product})
        if len(products) >= limit:
            break
    return products


def build_context(customer, *, extra=None, coupon=None, message=None, unsubscribe_link=None):
    if unsubscribe_link is None:
        unsubscribe_link = unsubscribe_url(message) if message else site_url("/")
    context = {
        "customer": customer,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "last_order": lambda: last_order_of(customer),
        "recommended_products": lambda: recommended_products_for(customer),
        "coupon": coupon_context(coupon),
        "unsubscribe_url": unsubscribe_link,
    }
    context.update(extra or {})
    return context


def coupon_context(code):
    if code is None:
        return None
    pool = code.pool
    return {
        "code": code.code,
        "discount": (
            f"{pool.discount_value.normalize():f}%"
            if pool.discount_kind == "percentage"
            else f"{pool.discount_value.normalize():f} {pool.currency}".strip()
        ),
        "valid_until": pool.valid_until,
        "minimum_spend": pool.minimum_spend,
    }


def render_message(
    template, customer, *, extra=None, coupon=None, message=None, unsubscribe_link=None
):
    """Render the template for the customer, in her language. With a `message` (a real
    send), links in the HTML become signed click redirects and an open pixel is added."""
    language, subject, text, html = parts_for(template, customer.locale)
    key = (template.pk, template.updated_at, language)
    context = Context(
        build_context(
            customer,
            extra=extra,
            coupon=coupon,
            message=message,
            unsubscribe_link=unsubscribe_link,
        )
    )
    rendered_subject = compile_part(subject, autoescape=False, key=("s", *key)).render(context)
    rendered_text = compile_part(text, autoescape=False, key=("t", *key)).render(context)
    rendered_html = ""
    if html:
        rendered_html = compile_part(html, autoescape=True, key=("h", *key)).render(context)
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


def preview(template, customer, *, extra=None):
    """What this customer would receive (no tracking, no coupon issued)."""
    rendered = render_message(template, customer, extra=extra)
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
