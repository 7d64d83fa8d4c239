"""Support tables: conversations threaded per customer across channels, their messages, the
teams that answer them, business hours and SLA policies, canned replies, CSAT answers and the
notifications agents get (mentions, escalations).

Invariants live here as constraints: a channel's own message id is stored once per channel
(retried webhooks insert nothing twice), an outbound message's idempotency key is unique (a
retried send task finds the row it already made), one CSAT answer per conversation.
"""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Channel
from core.names import NamedPerLanguage, name_in_language
from support.hours import parse_weekly, zone_of


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PENDING = "pending", _("Pending on customer")
    SNOOZED = "snoozed", _("Snoozed")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Statuses in which a conversation still takes the customer's next message.
ACTIVE_STATUSES = (ConversationStatus.OPEN, ConversationStatus.PENDING, ConversationStatus.SNOOZED)


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class AssignmentStrategy(models.TextChoices):
    MANUAL = "manual", _("Manual (unassigned queue)")
    ROUND_ROBIN = "round_robin", _("Round-robin")
    LEAST_OPEN = "least_open", _("Fewest open conversations")


class Team(NamedPerLanguage):
    """A group of agents answering some channels, with its own hours and assignment rule."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_support_teams",
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="TeamMembership",
        related_name="support_teams",
        verbose_name=_("members"),
    )
    channel_kinds = models.JSONField(
        _("channel kinds"),
        default=list,
        blank=True,
        help_text=_("New conversations from these channel kinds go to this team."),
    )
    is_default = models.BooleanField(
        _("default team"), default=False, help_text=_("Takes conversations no team claims.")
    )
    assignment_strategy = models.CharField(
        _("auto-assignment"),
        max_length=20,
        choices=AssignmentStrategy.choices,
        default=AssignmentStrategy.ROUND_ROBIN,
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="support_team_one_default",
            )
        ]

    def __str__(self):
        return self.display_name


class TeamMembership(models.Model):
    """An agent in a team. `is_available` off (absence) takes them out of auto-assignment;
    `last_assigned_at` is the round-robin's memory."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_memberships"
    )
    is_available = models.BooleanField(_("available"), default=True)
    last_assigned_at = models.DateTimeField(_("last assigned"), null=True, blank=True)

    class Meta:
        ordering = ["team", "user"]
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="support_membership_unique")
        ]

    def __str__(self):
        return f"{self.user} @ {self.team}"


class BusinessHours(models.Model):
    """When a team works, in its own time zone. `weekly` maps ISO weekday numbers (1 = Monday
    ... 7 = Sunday, as strings) to lists of ["HH:MM", "HH:MM"] intervals; days left out are
    closed. SLA clocks only run inside these hours."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="business_hours")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    weekly = models.JSONField(_("weekly hours"), default=dict, blank=True)

    class Meta:
        verbose_name = _("business hours")
        verbose_name_plural = _("business hours")

    def __str__(self):
        return f"{self.team} ({self.time_zone})"

    def clean(self):
        try:
            zone_of(self.time_zone)
        except ValueError as error:
            raise ValidationError({"time_zone": str(error)}) from error
        try:
            parse_weekly(self.weekly)
        except ValueError as error:
            raise ValidationError({"weekly": str(error)}) from error


class Holiday(models.Model):
    """A closed day for a team's business hours (a public holiday, Nowruz, ...)."""

    business_hours = models.ForeignKey(
        BusinessHours, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [
            models.UniqueConstraint(
                fields=["business_hours", "date"], name="support_holiday_unique"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.name}"


class SlaPolicy(models.Model):
    """Targets per priority, in business minutes. A team's own policy wins over the general one
    (team empty)."""

    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE
    )
    priority = models.PositiveSmallIntegerField(_("priority"), choices=Priority.choices)
    first_response_minutes = models.PositiveIntegerField(_("first response (minutes)"))
    next_response_minutes = models.PositiveIntegerField(_("next response (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution (minutes)"))

    class Meta:
        ordering = ["team", "-priority"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.UniqueConstraint(
                fields=["team", "priority"],
                condition=models.Q(team__isnull=False),
                name="support_sla_team_priority",
            ),
            models.UniqueConstraint(
                fields=["priority"],
                condition=models.Q(team__isnull=True),
                name="support_sla_general_priority",
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_minutes__gt=0)
                & models.Q(next_response_minutes__gt=0)
                & models.Q(resolution_minutes__gt=0),
                name="support_sla_positive",
            ),
        ]

    def __str__(self):
        return f"{self.team or _('All teams')}: {self.get_priority_display()}"


class Tag(models.Model):
    name = models.SlugField(_("name"), max_length=50, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class Conversation(models.Model):
    """One thread with one customer, whatever channels it crosses. `sla_due_at` is the nearest
    target still running (None while paused or done): the inbox sorts by it."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="conversations",
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ConversationStatus.choices,
        default=ConversationStatus.OPEN,
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True)
    started_channel = models.ForeignKey(
        Channel,
        verbose_name=_("started on"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_inbound_channel = models.ForeignKey(
        Channel,
        verbose_name=_("customer last wrote on"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    channels_used = models.JSONField(_("channels used"), default=list, blank=True)
    related_order_number = models.CharField(_("related order"), max_length=50, blank=True)
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_conversations",
    )

    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)
    last_inbound_at = models.DateTimeField(_("customer last wrote"), null=True, blank=True)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)

    # SLA: due times (business hours of the team), breach flags, pause while pending.
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    next_response_due_at = models.DateTimeField(_("next response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_due_at = models.DateTimeField(_("next SLA due"), null=True, blank=True)
    sla_paused_at = models.DateTimeField(_("SLA paused"), null=True, blank=True)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    next_response_breached = models.BooleanField(_("next response breached"), default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    is_breaching = models.BooleanField(_("breaching"), default=False)

    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_response_seconds = models.PositiveIntegerField(
        _("first response time (s)"), null=True, blank=True
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolution_seconds = models.PositiveIntegerField(
        _("resolution time (s)"), null=True, blank=True
    )
    csat_sent_at = models.DateTimeField(_("CSAT survey sent"), null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        permissions = [("merge_conversation", _("Can merge and split conversations"))]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")),
                name="support_conversation_not_merged_into_itself",
            ),
            models.CheckConstraint(
                condition=models.Q(resolved_at__isnull=True)
                | models.Q(status__in=["resolved", "closed"]),
                name="support_conversation_resolved_has_status",
            ),
        ]
        indexes = [
            # The inbox: what breaches first (sla_due_at ascending, empty last), then the newest;
            # one index per common filter, each in the list's own order, so a page is read off
            # the index instead of sorting every matching row. (PostgreSQL puts NULLs last in
            # ascending order by default, which is the order the list asks for; SQLite does not
            # accept NULLS LAST in an index.)
            models.Index(
                "status", F("sla_due_at").asc(), F("last_message_at").desc(),
                F("id").desc(), name="support_conv_inbox_idx",
            ),
            models.Index(
                "assignee", "status", F("sla_due_at").asc(),
                F("last_message_at").desc(), F("id").desc(), name="support_conv_assignee_idx",
            ),
            models.Index(
                "team", "status", F("sla_due_at").asc(),
                F("last_message_at").desc(), F("id").desc(), name="support_conv_team_idx",
            ),
            models.Index(
                "last_inbound_channel", "status", F("sla_due_at").asc(),
                F("last_message_at").desc(), F("id").desc(), name="support_conv_channel_idx",
            ),
            models.Index(
                "status", "priority", F("sla_due_at").asc(), F("last_message_at").desc(),
                F("id").desc(), name="support_conv_priority_idx",
            ),
            models.Index(
                F("sla_due_at").asc(), F("last_message_at").desc(), F("id").desc(),
                name="support_conv_all_idx",
            ),
            models.Index(fields=["customer", "status"], name="support_conv_customer_idx"),
            models.Index(fields=["created_at"], name="support_conv_created_idx"),
        ]  # fmt: skip

    def __str__(self):
        return f"{self.token} {self.subject}".strip()

    @property
    def token(self):
        """Put in email subjects; a reply carrying it threads back here."""
        return f"[#C-{self.pk}]"

    @property
    def is_active(self):
        return self.status in ACTIVE_STATUSES


class Direction(models.TextChoices):
    INBOUND = "inbound", _("From the customer")
    OUTBOUND = "outbound", _("To the customer")
    NOTE = "note", _("Internal note")


class DeliveryStatus(models.TextChoices):
    NONE = "", _("—")
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    BOUNCED = "bounced", _("Bounced")


# A later report never moves a message back (a late "delivered" after "read" is ignored).
DELIVERY_RANK = {
    "": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "failed": 6,
    "bounced": 6,
}


class MessageKind(models.TextChoices):
    MESSAGE = "message", _("Message")
    CALL = "call", _("Phone call")
    VISIT = "visit", _("Store visit")
    CSAT_SURVEY = "csat_survey", _("CSAT survey")


def new_idempotency_key():
    return f"support-{uuid.uuid4().hex}"


class Message(models.Model):
    """One message in a conversation, on the channel it used. `external_id` is the channel's
    own id of an inbound message (unique per channel: a retried webhook stores nothing twice);
    an outbound message's `idempotency_key` goes to the provider so a retried send is one send.
    """

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    kind = models.CharField(
        _("kind"), max_length=20, choices=MessageKind.choices, default=MessageKind.MESSAGE
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="support_messages",
    )
    address = models.CharField(
        _("address"),
        max_length=255,
        blank=True,
        help_text=_("Who it came from (inbound) or went to (outbound) on the channel."),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    text = models.TextField(_("text"), blank=True)
    html = models.TextField(_("sanitised HTML"), blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    external_id = models.CharField(_("channel's message id"), max_length=255, blank=True)
    thread_ids = models.JSONField(
        _("thread references"),
        default=list,
        blank=True,
        help_text=_("In-Reply-To and References of an email."),
    )
    # What a web chat visitor typed about herself (email, phone, name) without the shop
    # vouching for it: shown to the agent as unverified, never used to find the customer.
    claimed_identities = models.JSONField(
        _("unverified identities"),
        default=list,
        blank=True,
        help_text=_("Typed by the sender, not proven: [{kind, value}]."),
    )
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="support_mentions"
    )
    idempotency_key = models.CharField(
        _("idempotency key"), max_length=100, unique=True, default=new_idempotency_key
    )
    delivery_status = models.CharField(
        _("delivery"), max_length=10, choices=DeliveryStatus.choices, blank=True, default=""
    )
    provider_message_id = models.CharField(_("provider's id"), max_length=255, blank=True)
    send_attempts = models.PositiveSmallIntegerField(_("send attempts"), default=0)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    # The provider's own code for the last failure ("131047": WhatsApp's 24-hour window is
    # closed), so the page can offer what helps (a template) rather than only the text.
    error_code = models.CharField(_("provider's error code"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="support_message_external_id_per_channel",
            ),
            models.CheckConstraint(
                condition=~models.Q(direction="note") | models.Q(channel__isnull=True),
                name="support_message_note_has_no_channel",
            ),
            models.CheckConstraint(
                condition=models.Q(direction="note") | models.Q(channel__isnull=False),
                name="support_message_has_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="support_msg_conv_idx"),
            models.Index(
                fields=["channel", "provider_message_id"],
                condition=~models.Q(provider_message_id=""),
                name="support_msg_provider_id_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.text[:60]}"

    @property
    def is_note(self):
        return self.direction == Direction.NOTE


class CannedReply(NamedPerLanguage):
    """A saved answer. Placeholders in braces are filled for the conversation:
    {first_name}, {last_name}, {customer_name}, {agent_name}, {order_number},
    {conversation}."""

    title = models.CharField(_("title"), max_length=100)
    shortcut = models.SlugField(_("shortcut"), max_length=50, unique=True, allow_unicode=True)
    body = models.TextField(_("body"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.CASCADE
    )

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    @property
    def display_name(self):
        """Its title in the reader's language (`names`), else `title`."""
        return name_in_language(self.names, self.title)

    def __str__(self):
        return self.display_name


class CsatResponse(models.Model):
    """The customer's answer to the satisfaction survey sent on resolution."""

    conversation = models.OneToOneField(Conversation, on_delete=models.CASCADE, related_name="csat")
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"))
    comment = models.TextField(_("comment"), blank=True)
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    team = models.ForeignKey(
        Team, verbose_name=_("team"), null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("answered"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("CSAT response")
        verbose_name_plural = _("CSAT responses")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="support_csat_rating_1_5"
            )
        ]

    def __str__(self):
        return f"{self.conversation_id}: {self.rating}"


class NotificationKind(models.TextChoices):
    MENTION = "mention", _("Mentioned in a note")
    ASSIGNED = "assigned", _("Assigned to you")
    ESCALATION = "escalation", _("SLA breached")


class AgentNotification(models.Model):
    """Something an agent must look at: a mention, an assignment, an escalation."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_notifications"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    text = models.CharField(_("text"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("agent notification")
        verbose_name_plural = _("agent notifications")
        indexes = [models.Index(fields=["user", "read_at"], name="support_notif_user_idx")]

    def __str__(self):
        return f"{self.user}: {self.get_kind_display()}"


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for moderation")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Review(models.Model):
    """A customer's review of one product of one of her orders, written on the signed review
    page (support.views_reviews). One per customer, order and SKU: a second visit edits it and
    sends it back to moderation. Only approved reviews count in the product's rating
    (catalog.services.ratings) and reach the API and the Google product reviews feed. A low
    rating opens one conversation (`conversation`)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="reviews",
    )
    order_number = models.CharField(_("order"), max_length=50)
    sku = models.CharField(_("SKU"), max_length=64)
    # catalog's product id, kept so ratings are counted per product without reading catalog.
    product_id = models.PositiveBigIntegerField(_("product id"), db_index=True)
    product_name = models.CharField(_("product"), max_length=255, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating (1-5)"))
    text = models.TextField(_("text"), blank=True)
    photo = models.CharField(_("photo"), max_length=255, blank=True)
    photo_content_type = models.CharField(_("photo type"), max_length=30, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("moderated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    moderated_at = models.DateTimeField(_("moderated"), null=True, blank=True)
    conversation = models.OneToOneField(
        Conversation,
        verbose_name=_("conversation"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review",
    )
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "order_number", "sku"], name="support_review_once_per_line"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5),
                name="support_review_rating_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="support_review_status_idx"),
            models.Index(fields=["order_number"], name="support_review_order_idx"),
        ]

    def __str__(self):
        return f"{self.sku}: {self.rating}/5"
