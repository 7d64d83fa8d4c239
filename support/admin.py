"""Admin registrations for support. Agents work in the inbox (/support/); the admin is for
setting up teams, hours, SLA policies and canned replies, and for looking things up."""

from django.contrib import admin
from django.utils.translation import gettext, gettext_lazy

from core.admin_dates import JalaliDateHierarchyMixin
from core.templatetags.labels import channel_kind
from support.forms import CannedReplyForm
from support.models import (
    AgentNotification,
    BusinessHours,
    CannedReply,
    Conversation,
    CsatResponse,
    Holiday,
    Message,
    Review,
    ReviewStatus,
    SlaPolicy,
    Tag,
    Team,
    TeamMembership,
)
from support.services.reviews import moderate_review


class TeamMembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "lead", "assignment_strategy", "is_default", "kinds"]
    list_filter = ["assignment_strategy", "is_default"]
    search_fields = ["name"]
    inlines = [TeamMembershipInline]

    @admin.display(description=gettext_lazy("channel kinds"))
    def kinds(self, team):
        """The kinds by their labels in the staff's language (`instagram` -> Instagram)."""
        return gettext(", ").join(str(channel_kind(kind)) for kind in team.channel_kinds or [])


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ["team", "time_zone"]
    inlines = [HolidayInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "business_hours"]
    list_filter = ["business_hours"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "team",
        "priority",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
    ]
    list_filter = ["team", "priority"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ["created_at", "direction", "kind", "channel", "author", "text", "delivery_status"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(JalaliDateHierarchyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "subject",
        "customer",
        "status",
        "priority",
        "team",
        "assignee",
        "started_channel",
        "sla_due_at",
        "last_message_at",
    ]
    list_filter = ["status", "priority", "team", "started_channel", "is_breaching"]
    search_fields = ["subject", "=id", "customer__identities__value", "customer__last_name"]
    list_select_related = ["customer", "team", "assignee", "started_channel"]
    raw_id_fields = ["customer", "merged_into"]
    autocomplete_fields = ["tags"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "last_message_at",
        "first_response_at",
        "first_response_seconds",
        "resolved_at",
        "resolution_seconds",
        "csat_sent_at",
    ]
    inlines = [MessageInline]
    date_hierarchy = "created_at"


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "direction",
        "kind",
        "channel",
        "author",
        "delivery_status",
        "created_at",
    ]
    list_filter = ["direction", "kind", "channel", "delivery_status"]
    search_fields = ["=conversation__id", "external_id", "provider_message_id", "address"]
    list_select_related = ["conversation", "channel", "author"]
    raw_id_fields = ["conversation", "author"]
    # What the customer sent stays as it arrived (sanitised): an edited html would reach the
    # agents' conversation page, and edited attachments could carry any link.
    readonly_fields = [
        "html",
        "attachments",
        "idempotency_key",
        "provider_message_id",
        "send_attempts",
        "created_at",
    ]
    filter_horizontal = ["mentions"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyForm
    list_display = ["title", "shortcut", "language", "team"]
    list_filter = ["language", "team"]
    search_fields = ["title", "shortcut", "body"]


@admin.register(CsatResponse)
class CsatResponseAdmin(admin.ModelAdmin):
    list_display = ["conversation", "rating", "agent", "team", "channel", "created_at"]
    list_filter = ["rating", "team", "channel"]
    raw_id_fields = ["conversation"]


@admin.register(AgentNotification)
class AgentNotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "conversation", "created_at", "read_at"]
    list_filter = ["kind"]
    raw_id_fields = ["conversation", "message"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews are written by customers and moderated here or on the moderation page
    (/support/reviews/); both go through the service, so the product's rating follows."""

    list_display = ["sku", "product_name", "order_number", "rating", "status", "created_at"]
    list_filter = ["status", "rating"]
    search_fields = ["sku", "order_number", "product_name", "text"]
    raw_id_fields = ["customer", "conversation"]
    actions = ["approve", "reject"]
    readonly_fields = [
        "customer",
        "order_number",
        "sku",
        "product_id",
        "product_name",
        "rating",
        "text",
        "photo",
        "language",
        "status",
        "moderated_by",
        "moderated_at",
        "conversation",
        "created_at",
        "updated_at",
    ]
    exclude = ["photo_content_type"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # a deleted review would leave the product's rating counting it

    def _moderate(self, request, queryset, status):
        for review in queryset:
            moderate_review(review, status, by=request.user)

    @admin.action(description=gettext_lazy("Approve the selected reviews"), permissions=["change"])
    def approve(self, request, queryset):
        self._moderate(request, queryset, ReviewStatus.APPROVED)

    @admin.action(description=gettext_lazy("Reject the selected reviews"), permissions=["change"])
    def reject(self, request, queryset):
        self._moderate(request, queryset, ReviewStatus.REJECTED)
