"""The agent inbox (not the admin): the list with filters and search, sorted by what breaches
first; the conversation with every message, the composer, actions and the customer panel; the
reports. Thin: parse a form, call a service, render. htmx requests get the changed fragment."""

from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import live
from core.api.errors import DomainError
from core.forms import LocalisedDateTimeField
from core.models import AuditAction, Channel, ChannelKind, ProviderTemplate
from core.replica import reading_replica
from core.services import audit
from orders.selectors import order_by_number, orders_of_customer
from support import reports, selectors, services, views_live
from support.errors import CannotMerge, IllegalTransition, InvalidPayload
from support.forms import AfterSalesForm, ComposerForm, ContactLogForm, InboxFilterForm
from support.models import (
    Conversation,
    ConversationStatus,
    Priority,
    Tag,
    Team,
)
from support.services import after_sales
from support.services.outbound import (
    WINDOW_CLOSED_CODES,
    render_canned,
    template_message,
)

PAGE_SIZE = 50
VIEW = "support.view_conversation"
CHANGE = "support.change_conversation"
AFTER_SALES = "orders.add_return"


def _staff_view(perm):
    def decorate(view):
        return staff_member_required(permission_required(perm, raise_exception=True)(view))

    return decorate


@_staff_view(VIEW)
def inbox(request):
    form = InboxFilterForm(request.GET or None)
    filters = form.filters() if form.is_valid() else selectors.InboxFilters()
    conversations = selectors.inbox_conversations(request.user, filters).prefetch_related("tags")
    page = selectors.CappedPaginator(conversations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "now": timezone.now(),
        "counts": selectors.inbox_counts(request.user),
        "notifications": list(selectors.unread_notifications(request.user)[:10]),
        "querystring": _querystring(request, drop="page"),
    }
    template = "support/_inbox_list.html" if request.htmx else "support/inbox.html"
    if not request.htmx:
        views_live.remember_inbox_query(request)
        context["live_after"] = live.latest_id()
    return render(request, template, context)


def _querystring(request, drop):
    query = request.GET.copy()
    query.pop(drop, None)
    return query.urlencode()


def _conversation_context(request, conversation):
    conversation = selectors.conversation_detail(conversation.pk)
    reachable = services.reachable_channels(conversation)
    canned = [
        {"reply": reply, "text": render_canned(reply, conversation, request.user)}
        for reply in selectors.canned_replies_for(conversation)
    ]
    panel = selectors.customer_panel(conversation.customer, exclude=conversation)
    conversation_messages = list(conversation.messages.all())
    agents = get_user_model().objects.filter(is_active=True, is_staff=True)
    if conversation.team_id:
        agents = agents.filter(support_memberships__team_id=conversation.team_id)
    return {
        "conversation": conversation,
        "conversation_messages": conversation_messages,
        "claims": selectors.unverified_claims(
            conversation_messages, conversation.customer, panel["identities"]
        ),
        "composer": ComposerForm(channels=reachable),
        "reachable": reachable,
        "canned": canned,
        "panel": panel,
        "after_sales_form": AfterSalesForm(
            orders=panel["orders"],
            initial={"order": conversation.related_order_number},
        ),
        "may_start_after_sales": request.user.has_perm(AFTER_SALES),
        "contact_form": ContactLogForm(),
        # The customer's other open threads: one button each merges it into this one.
        "mergeable": [other for other in panel["conversations"] if other.is_active],
        "statuses": ConversationStatus.choices,
        "priorities": Priority.choices,
        "agents": agents.order_by("username"),
        "now": timezone.now(),
        "all_tags": Tag.objects.all()[:100],
        # The collision guard: a reply is refused when messages came after this one.
        "seen_last_message_id": max((m.pk for m in conversation_messages), default=0),
        "composer_text": "",
        "stale_messages": None,
        **_window_closed(request, conversation, conversation_messages, reachable),
    }


def _window_closed(request, conversation, conversation_messages, reachable) -> dict:
    """The last reply refused because the channel's customer-service window is closed
    (WhatsApp 131047, Meta 2018278), unless the customer wrote on that channel since: the
    page says so and offers the channel's approved templates, filled for this customer."""
    refused = None
    for message in conversation_messages:
        if message.direction == "inbound" and refused and message.channel_id == refused.channel_id:
            refused = None
        if (
            message.direction == "outbound"
            and message.delivery_status == "failed"
            and message.error_code in WINDOW_CLOSED_CODES
        ):
            refused = message
    choices = []
    if refused is not None and refused.channel in reachable:
        for template in ProviderTemplate.objects.filter(channel=refused.channel, is_active=True):
            try:
                preview, _stored = template_message(template, conversation, request.user)
                problem = ""
            except DomainError as error:
                preview, problem = "", error.message
            choices.append({"template": template, "preview": preview, "problem": problem})
    return {"window_closed": refused, "window_templates": choices}


def _conversation_page(request, conversation, *, context=None, status=200):
    """The whole page: the list pane, the conversation and the customer, listening live."""
    context = context or _conversation_context(request, conversation)
    context.update(views_live.pane_context(request, current=conversation.pk))
    context["live_after"] = live.latest_id()
    return render(request, "support/conversation.html", context, status=status)


@_staff_view(VIEW)
def conversation_view(request, pk):
    conversation = get_object_or_404(Conversation, pk=pk)
    if conversation.merged_into_id:
        flash.info(request, _("This conversation was merged; showing the one it went into."))
        return redirect("support:conversation", conversation.merged_into_id)
    services.notifications_seen(request.user, conversation)
    if request.htmx:  # a live update re-reads the conversation (live.js)
        return render(
            request, "support/_conversation_body.html", _conversation_context(request, conversation)
        )
    audit.record(
        AuditAction.VIEW_CONVERSATION,
        conversation.customer.public_id,
        detail={"conversation": conversation.pk},
    )
    return _conversation_page(request, conversation)


def _after_action(request, conversation, *, error=None):
    """htmx: re-render the conversation's working area; otherwise back to the page."""
    if error is not None:
        if request.htmx:
            context = _conversation_context(request, conversation)
            context["error"] = error
            response = render(request, "support/_conversation_body.html", context, status=422)
            return response
        flash.error(request, error)
    if request.htmx:
        return render(
            request, "support/_conversation_body.html", _conversation_context(request, conversation)
        )
    return redirect("support:conversation", conversation.pk)


def _form_problems(form) -> str:
    """A form's errors as one line staff read: each field by its (translated) label, not its
    key; errors of the whole form alone."""
    problems = []
    for name, messages in form.errors.items():
        text = " ".join(str(message) for message in messages)
        field = form.fields.get(name)
        problems.append(f"{field.label}: {text}" if field is not None and field.label else text)
    return "; ".join(problems)


def _action(view):
    """A POST on a conversation; domain errors become a message on the page, not a 500."""

    @_staff_view(CHANGE)
    @require_POST
    def wrapper(request, pk):
        conversation = get_object_or_404(Conversation, pk=pk)
        try:
            result = view(request, conversation)
        except DomainError as error:
            # The message says what to do in the staff's language; the fields' own words
            # (keyed by API names such as "assignee") follow it without their keys.
            fields = " ".join(" ".join(map(str, v)) for v in error.fields.values())
            return _after_action(
                request, conversation, error=error.message + (f" ({fields})" if fields else "")
            )
        if result is not None:
            return result
        return _after_action(request, conversation)

    wrapper.__name__ = view.__name__
    return wrapper


@_action
def reply_view(request, conversation):
    form = ComposerForm(request.POST, channels=services.reachable_channels(conversation))
    if not form.is_valid():
        return _after_action(request, conversation, error=_form_problems(form))
    data = form.cleaned_data
    if data["mode"] != "note":
        refused = _refuse_stale_reply(request, conversation, data["text"])
        if refused is not None:
            return refused
    if data["mode"] == "note":
        services.add_note(conversation, request.user, data["text"])
    else:
        views_live.set_typing(conversation, request.user, typing=False)
        services.reply(
            conversation,
            request.user,
            data["text"],
            channel=data["channel"],
            idempotency_key=data.get("idempotency_key") or None,
        )
        if data.get("then") in (ConversationStatus.PENDING, ConversationStatus.RESOLVED):
            services.set_status(conversation, data["then"], by=request.user)
    return None


@_action
def template_reply_view(request, conversation):
    """Send one of the channel's approved templates (outside the 24-hour window)."""
    raw = request.POST.get("template", "")
    template = (
        ProviderTemplate.objects.select_related("channel")
        .filter(pk=int(raw), is_active=True)
        .first()
        if raw.isdigit()
        else None
    )
    if template is None or template.channel not in services.reachable_channels(conversation):
        raise InvalidPayload(
            _("Pick an active template of a channel that reaches this customer."),
            fields={"template": [_("Unknown or inactive template.")]},
        )
    services.reply(
        conversation,
        request.user,
        "",
        template=template,
        idempotency_key=request.POST.get("idempotency_key") or None,
    )
    return None


def _refuse_stale_reply(request, conversation, text):
    """The collision guard: a reply written on a conversation that got messages (from the
    customer or colleagues) after the one the form was opened on is not sent; the page shows
    them and offers to send anyway. Only this page: API clients reply as before."""
    seen = request.POST.get("seen_last_message_id", "")
    if not seen or request.POST.get("send_anyway"):
        return None
    if not seen.isdigit():
        return _after_action(
            request,
            conversation,
            error=_("seen_last_message_id: a message number is expected."),
        )
    newer = list(
        conversation.messages.filter(pk__gt=int(seen))
        .exclude(author=request.user)
        .select_related("channel", "author")
        .order_by("created_at", "id")
    )
    if not newer:
        return None
    context = _conversation_context(request, conversation)
    context["stale_messages"] = newer
    context["composer_text"] = text
    if request.htmx:
        return render(request, "support/_conversation_body.html", context, status=409)
    return _conversation_page(request, conversation, context=context, status=409)


@_action
def assign_me(request, conversation):
    services.assign(conversation, request.user, by=request.user)


@_action
def assign_view(request, conversation):
    username = request.POST.get("assignee") or ""
    agent = None
    if username:
        agent = get_object_or_404(get_user_model(), username=username, is_staff=True)
    services.assign(conversation, agent, by=request.user)


SNOOZE_FIELD = LocalisedDateTimeField(required=False)


@_action
def status_view(request, conversation):
    status = request.POST.get("status", "")
    # Typed in the calendar in force (1405/01/01 10:30 in Persian) or ISO; unreadable: none.
    try:
        snoozed_until = SNOOZE_FIELD.clean(request.POST.get("snoozed_until") or "")
    except ValidationError:
        snoozed_until = None
    services.set_status(conversation, status, by=request.user, snoozed_until=snoozed_until)


@_action
def priority_view(request, conversation):
    try:
        priority = int(request.POST.get("priority", ""))
    except ValueError:
        priority = 0
    if priority not in Priority.values:
        raise IllegalTransition(_("Pick a priority."), fields={"priority": [_("Unknown.")]})
    services.set_priority(conversation, priority)


@_action
def tags_view(request, conversation):
    names = [n.strip() for n in request.POST.get("tags", "").split(",") if n.strip()]
    services.set_tags(conversation, names)


@_action
def order_view(request, conversation):
    services.link_order(conversation, request.POST.get("related_order_number", ""))


@_action
def after_sales_view(request, conversation):
    """Start a return, exchange or replacement for one of the customer's orders (see
    support.services.after_sales)."""
    if not request.user.has_perm(AFTER_SALES):
        raise PermissionDenied
    form = AfterSalesForm(request.POST, orders=orders_of_customer(conversation.customer))
    if not form.is_valid():
        return _after_action(request, conversation, error=_form_problems(form))
    data = form.cleaned_data
    done = after_sales.start_after_sales(
        conversation,
        order_by_number(data["order"]),
        action=data["action"],
        sku=data["sku"],
        quantity=data["quantity"],
        reason=data["reason"],
        new_sku=data["new_sku"],
        by=request.user,
    )
    flash.success(request, done)


@_action
def log_contact_view(request, conversation):
    form = ContactLogForm(request.POST)
    if not form.is_valid():
        return _after_action(request, conversation, error=_form_problems(form))
    services.log_contact(
        form.cleaned_data["channel"],
        author=request.user,
        text=form.cleaned_data["text"],
        conversation=conversation,
    )


@_action
def merge_view(request, conversation):
    number = request.POST.get("other", "").strip().lstrip("#").removeprefix("C-")
    other = Conversation.objects.filter(pk=int(number)).first() if number.isdigit() else None
    if other is None:
        raise CannotMerge(_("No conversation with that number."), fields={"other": [_("Unknown.")]})
    target = services.merge_conversations(
        conversation, other, by=request.user, source_field="other"
    )
    flash.success(request, _("Merged %(other)s into this conversation.") % {"other": other.token})
    return _after_action(request, target)


@_action
def split_view(request, conversation):
    ids = [int(i) for i in request.POST.getlist("messages") if i.isdigit()]
    new = services.split_conversation(
        conversation, ids, by=request.user, subject=request.POST.get("subject", "")
    )
    flash.success(request, _("Split into %(token)s.") % {"token": new.token})
    if request.htmx:
        response = render(
            request, "support/_conversation_body.html", _conversation_context(request, conversation)
        )
        response["HX-Redirect"] = reverse("support:conversation", args=[new.pk])
        return response
    return redirect("support:conversation", new.pk)


@_staff_view(VIEW)
@reading_replica()
def reports_view(request):
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and 1 <= int(days) <= 365 else 30
    report = reports.support_report(days=days)
    kind_names = dict(ChannelKind.choices)
    # Teams are grouped by their name; staff read each in their own language.
    team_names = {team.name: team.display_name for team in Team.objects.all()}
    for row in report["teams"]:
        row["group"] = team_names.get(row["group"], row["group"])
    for row in report["backlog"]["by_team"]:
        row["team__name"] = team_names.get(row["team__name"], row["team__name"])
    return render(
        request,
        "support/reports.html",
        {
            "report": report,
            "volume_kinds": [
                {"code": kind, "name": kind_names.get(kind, kind)}
                for kind in report["volume"]["kinds"]
            ],
            "days": days,
            "channels": Channel.objects.all(),
        },
    )
