"""The channel set-up page: a channel's provider and credentials, the webhook URLs and secret
to paste into the provider's console, a test message, and its WhatsApp templates. Thin: the
forms parse, core.services.channels writes, the catalogue (core.providers.catalogue) says
what each provider needs. Only who may change channels (core.change_channel) comes in."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.forms import ChannelSetupForm, ProviderTemplateForm, TestMessageForm
from core.models import Channel, ChannelKind, ChannelProvider, ProviderTemplate
from core.providers import ProviderError, catalogue
from core.services import channels as channel_services

MANAGE = "core.change_channel"

SCOPE_LABELS = {
    ProviderError.RETRY: gettext_lazy("Temporary: try again later"),
    ProviderError.MESSAGE: gettext_lazy("This message was refused"),
    ProviderError.RECIPIENT: gettext_lazy("This recipient cannot be reached on this channel"),
}


def _manages(view):
    return staff_member_required(permission_required(MANAGE, raise_exception=True)(view))


def _has_templates(channel) -> bool:
    return channel.kind == ChannelKind.WHATSAPP or channel.provider == ChannelProvider.WHATSAPP


def _site_url_differs(request) -> str:
    """SITE_URL, when this page was opened at another host: the providers will call SITE_URL
    (Twilio signs it too), so staff learn before pasting a URL nobody can reach."""
    site = settings.SITE_URL.rstrip("/")
    return site if urlsplit(site).netloc.lower() != request.get_host().lower() else ""


def _page(request, channel, *, form=None, test_form=None, template_form=None, **extra):
    status = extra.pop("status", 200)
    spec = catalogue.spec_for(channel.provider)
    context = {
        "channel": channel,
        "form": form or ChannelSetupForm(channel),
        "spec": spec,
        "missing": catalogue.missing_settings(channel),
        "webhooks": catalogue.webhooks_for(channel),
        "site_url_differs": _site_url_differs(request),
        "secret_to_generate": catalogue.secret_to_generate(channel),
        "test_form": test_form or TestMessageForm(channel),
        "has_templates": _has_templates(channel),
        "templates": list(ProviderTemplate.objects.filter(channel=channel))
        if _has_templates(channel)
        else [],
        "template_form": template_form or ProviderTemplateForm(),
        "revealed_secret": "",
        "revealed_secret_name": "",
        "test_outcome": None,
        "scope_labels": SCOPE_LABELS,
        **extra,
    }
    return render(request, "core/channel_setup.html", context, status=status)


@_manages
def channel_setup(request, code):
    """GET: the channel's set-up. POST: save the provider and its settings."""
    channel = get_object_or_404(Channel, code=code)
    if request.method != "POST":
        return _page(request, channel)
    form = ChannelSetupForm(channel, request.POST, provider=request.POST.get("fields_for", ""))
    if not form.is_valid():
        return _page(request, channel, form=form, status=400)
    provider = form.cleaned_data["provider"]
    channel_services.save_channel_setup(
        channel, provider=provider, values=form.values(), actor=request.user
    )
    if provider != form.provider_shown:
        messages.info(request, _("Provider changed: now fill in its settings."))
    else:
        messages.success(request, _("Channel settings saved."))
    return redirect("channel-setup", code=channel.code)


@_manages
@require_POST
def channel_inbound_secret(request, code):
    """Generate the inbound secret (or the provider's own webhook secret, WooCommerce's),
    when the channel has none and it is ours to choose. The answer shows it once, to paste
    into the provider's console; then only masked."""
    channel = get_object_or_404(Channel, code=code)
    name = catalogue.secret_to_generate(channel)
    if not name:
        messages.error(request, _("This channel's inbound secret is typed in, not generated."))
        return redirect("channel-setup", code=channel.code)
    secret = channel_services.generate_inbound_secret(channel, actor=request.user, name=name)
    channel.refresh_from_db()
    response = _page(request, channel, revealed_secret=secret, revealed_secret_name=name)
    response["Cache-Control"] = "no-store"
    return response


@_manages
@require_POST
def channel_test_message(request, code):
    channel = get_object_or_404(Channel, code=code)
    test_form = TestMessageForm(channel, request.POST)
    if not test_form.is_valid():
        return _page(request, channel, test_form=test_form, status=400)
    if not channel_services.may_send_test_message(request.user):
        test_form.add_error(None, _("Too many test messages: wait a minute and try again."))
        return _page(request, channel, test_form=test_form, status=429)
    outcome = channel_services.send_test_message(
        channel,
        test_form.cleaned_data["recipient"],
        test_form.cleaned_data["text"],
        actor=request.user,
    )
    return _page(request, channel, test_form=test_form, test_outcome=outcome)


@_manages
@require_POST
def channel_template_add(request, code):
    channel = get_object_or_404(Channel, code=code)
    if not _has_templates(channel):
        messages.error(request, _("Only WhatsApp channels have provider templates."))
        return redirect("channel-setup", code=channel.code)
    template_form = ProviderTemplateForm(request.POST)
    if template_form.is_valid():
        data = template_form.cleaned_data
        try:
            channel_services.add_provider_template(
                channel,
                name=data["name"],
                language=data["language"],
                text=data["text"],
                parameters=data["parameters"],
            )
        except channel_services.TemplateExists:
            template_form.add_error("name", _("This template is already registered."))
        else:
            messages.success(request, _("Template added."))
            return redirect("channel-setup", code=channel.code)
    return _page(request, channel, template_form=template_form, status=400)


@_manages
@require_POST
def channel_template_deactivate(request, code, pk):
    channel = get_object_or_404(Channel, code=code)
    template = get_object_or_404(ProviderTemplate, pk=pk, channel=channel)
    channel_services.deactivate_provider_template(template)
    messages.success(request, _("Template deactivated."))
    return redirect("channel-setup", code=channel.code)
