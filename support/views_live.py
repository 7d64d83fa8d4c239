"""The inbox's live doors: the event stream the inbox and conversation pages listen to, the
"is replying" heartbeat of the collision guard, and the list pane beside a conversation.
Thin: the stream and the wake-ups are core.live's; the pages fetch what changed through the
normal views (support/static/support/live.js)."""

import json
import time

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponseBadRequest, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core import live as core_live
from core.services import shared_cache
from support import live, selectors
from support.forms import InboxFilterForm
from support.models import Conversation

VIEW = "support.view_conversation"
CHANGE = "support.change_conversation"

# A typing agent's browser says so every few seconds (live.js); silent this long, they stopped.
TYPING_SECONDS = 8
PANE_SIZE = 25
INBOX_QUERY = "support_inbox_query"


def _staff_view(perm):
    def decorate(view):
        return staff_member_required(permission_required(perm, raise_exception=True)(view))

    return decorate


def may_see(user, conversation_ids) -> set:
    """The conversations among these whose changes this user's pages may hear of: those the
    inbox shows them (every conversation, for whoever may view conversations)."""
    return set(conversation_ids) if user.has_perm(VIEW) else set()


@_staff_view(VIEW)
@require_GET
def events(request):
    """Server-sent events of conversation changes (ids only), from ?after= or the browser's
    Last-Event-ID; ?conversation= narrows them to one conversation."""
    conversation_id = request.GET.get("conversation", "")
    if conversation_id and not conversation_id.isdigit():
        return HttpResponseBadRequest(
            _("conversation: a conversation number is expected."), content_type="text/plain"
        )
    conversation_id = int(conversation_id) if conversation_id else None
    after = core_live.parse_last_id(request.headers.get("Last-Event-ID"), request.GET.get("after"))
    user = request.user

    def read(after):
        cursor, rows = core_live.events_after(after, topic=live.TOPIC, object_id=conversation_id)
        if not rows:
            return cursor, []
        visible = may_see(user, {row["object_id"] for row in rows})
        items = [
            (
                row["id"],
                row["kind"],
                json.dumps({"conversation": row["object_id"], **row["payload"]}),
            )
            for row in rows
            if row["object_id"] in visible
        ]
        return cursor, items

    stream = core_live.Stream(read, after)
    # Django buffers a sync iterator under ASGI and an async one under WSGI: give each its own.
    body = stream.__aiter__() if isinstance(request, ASGIRequest) else iter(stream)
    response = StreamingHttpResponse(body, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _typing_key(pk):
    return f"support:typing:{pk}"


def typing_now(conversation_pk, *, now=None) -> dict:
    """{user id: until} of the agents replying on this conversation now (empty without the
    cache: the guard then shows nobody, the stale-reply check still holds)."""
    now = now or time.time()
    held = shared_cache.read(_typing_key(conversation_pk), {}, use="typing") or {}
    return {user_id: until for user_id, until in held.items() if until > now}


def set_typing(conversation, user, *, typing: bool) -> None:
    """Note (or clear) that `user` is replying; announced when it starts or stops, not on
    every heartbeat."""
    now = time.time()
    current = typing_now(conversation.pk, now=now)
    was_typing = user.pk in current
    if typing:
        current[user.pk] = now + TYPING_SECONDS
    else:
        current.pop(user.pk, None)
    shared_cache.write(_typing_key(conversation.pk), current, TYPING_SECONDS * 2, use="typing")
    if typing != was_typing:
        live.conversation_changed(conversation, "typing", user=user.pk)


@_staff_view(VIEW)
@require_http_methods(["GET", "POST"])
def typing_view(request, pk):
    """GET: who else is replying here (a fragment); POST state=typing|stopped: I am (or I
    stopped), needs the right to answer."""
    conversation = get_object_or_404(Conversation, pk=pk)
    if request.method == "POST":
        if not request.user.has_perm(CHANGE):
            raise PermissionDenied
        state = request.POST.get("state", "")
        if state not in ("typing", "stopped"):
            return HttpResponseBadRequest(
                _("state: typing or stopped is expected."), content_type="text/plain"
            )
        set_typing(conversation, request.user, typing=state == "typing")
    others = [user_id for user_id in typing_now(pk) if user_id != request.user.pk]
    users = get_user_model().objects.filter(pk__in=others).order_by("username")
    names = [user.get_full_name() or user.get_username() for user in users]
    return render(request, "support/_typing.html", {"names": names})


def remember_inbox_query(request):
    """The inbox's filters, kept so the list pane beside a conversation shows the same list."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    if request.session.get(INBOX_QUERY, "") != encoded:
        request.session[INBOX_QUERY] = encoded


def pane_context(request, *, current=None) -> dict:
    form = InboxFilterForm(QueryDict(request.session.get(INBOX_QUERY, "")))
    filters = form.filters() if form.is_valid() else selectors.InboxFilters()
    conversations = selectors.inbox_conversations(request.user, filters)[:PANE_SIZE]
    return {
        "pane_conversations": list(conversations),
        "pane_current": current,
        "now": timezone.now(),
    }


@_staff_view(VIEW)
@require_GET
def inbox_pane(request):
    """The list pane beside a conversation, re-read when the inbox changes."""
    current = request.GET.get("current", "")
    current = int(current) if current.isdigit() else None
    return render(request, "support/_inbox_pane.html", pane_context(request, current=current))
