"""What the provider sends for a message row: its template rendered for the customer (her
language, her coupon, the one-click unsubscribe link, RFC 8058 headers on email), and on
WhatsApp the approved provider template with its parameters filled from plain values."""

from django.template import Context, Variable, VariableDoesNotExist
from django.utils.formats import localize

from campaigns.services.links import unsubscribe_url
from campaigns.services.rendering import render_message
from campaigns.services.template_context import message_context
from core import l10n
from core.models import ChannelKind, ChannelProvider, ProviderTemplate
from core.providers import OutboundMessage
from customers.choices import ConsentPurpose


def outbound_for(message) -> OutboundMessage:
    """Render the row into what the provider sends, with the coupon already issued to it
    (`message.coupon_code`); emails carry RFC 8058 one-click unsubscribe headers. Raises
    NoProviderTemplate, or whatever the user's template raises for this customer."""
    coupon = message.coupon_code
    link = unsubscribe_url(message)
    rendered = render_message(
        message.template,
        message.customer,
        journey_data=message.context,
        coupon=coupon,
        message=message,
        unsubscribe_link=link,
    )
    headers = {}
    text = rendered.text
    if message.channel.kind == ChannelKind.EMAIL:
        headers = {
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
        if link not in text and message.purpose == ConsentPurpose.MARKETING:
            text = f"{text}\n\nUnsubscribe: {link}"
    return OutboundMessage(
        to=message.to,
        text=text,
        idempotency_key=message.idempotency_key,
        subject=rendered.subject,
        html=rendered.html,
        headers=headers,
        metadata={"message": message.token},
        template=provider_template_for(message, rendered.language, coupon, link),
    )


class NoProviderTemplate(Exception):
    """A WhatsApp campaign message without an approved template to go out as."""


def provider_template_for(message, language, coupon, unsubscribe_link) -> dict | None:
    """WhatsApp sends campaigns only as templates its owner approved (core.ProviderTemplate):
    the one named by the message template's `provider_template_name`, in the customer's
    language when the channel has it (else the rendered one, the template's own, any), its {{1}}, {{2}}...
    filled from the plain values a template may read (template_context, never models).
    None on other providers. Raises NoProviderTemplate when none fits."""
    channel = message.channel
    if channel.provider != ChannelProvider.WHATSAPP:
        return None
    name = message.template.provider_template_name
    candidates = list(
        ProviderTemplate.objects.filter(channel=channel, name=name, is_active=True).order_by("id")
    )
    if not name or not candidates:
        raise NoProviderTemplate(
            f"no approved WhatsApp template {name!r} on channel {channel.code}"
            if name
            else f"template {message.template.name!r} names no approved WhatsApp template"
        )

    def fits(wanted):
        wanted = (wanted or "").lower().replace("-", "_")
        for candidate in candidates:
            if candidate.language.lower() == wanted:
                return candidate
        for candidate in candidates:
            if wanted and candidate.language.lower().split("_")[0] == wanted.split("_")[0]:
                return candidate
        return None

    # The customer reads the provider's approved text: her language first, even when our
    # own template has no translation in it.
    chosen = (
        fits(message.customer.locale)
        or fits(language)
        or fits(message.template.language)
        or candidates[0]
    )
    return {
        "name": chosen.name,
        "language": chosen.language,
        "parameters": template_parameters(
            chosen.parameters, message, language, coupon, unsubscribe_link
        ),
    }


def template_parameters(names, message, language, coupon, unsubscribe_link) -> list[str]:
    """Each named plain value ("first_name", "coupon.code", "last_order.total_display") as
    text in the customer's language and digits; an unknown name fills in as empty."""
    values = []
    with l10n.for_customer(language):
        context = Context(
            message_context(
                message.customer,
                coupon=coupon,
                unsubscribe_link=unsubscribe_link,
                journey_data=message.context,
            )
        )
        for name in names or []:
            try:
                value = Variable(str(name)).resolve(context)
            except (VariableDoesNotExist, ValueError, TypeError):
                value = ""
            values.append("" if value is None else str(localize(value)))
    return values


# Errors of the system, not of the message: the row is released (or, once the provider may
# have accepted it, left to lease recovery) and the error raised, so the send task retries
# it with backoff. A soft time limit is one too: it stops the task, it says nothing of the row.
