"""Admin for channels, API keys (shown once, revocable), webhooks and the outbox."""

from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.admin_dates import JalaliDateHierarchyMixin
from core.forms import ApiKeyCreationForm
from core.models import (
    ApiKey,
    AuditEntry,
    Channel,
    IdempotencyRecord,
    OutboxEvent,
    ProviderTemplate,
    WebhookEndpoint,
)
from core.services.api_keys import create_api_key, revoke_api_key


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "kind",
        "sells",
        "messages",
        "is_active",
        "currency",
        "irr_unit",
        "provider",
    ]
    list_filter = ["kind", "sells", "messages", "is_active", "provider", "irr_unit"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(ProviderTemplate)
class ProviderTemplateAdmin(admin.ModelAdmin):
    """The templates the provider approved per channel (WhatsApp): what an agent may send
    outside the 24-hour window, and what campaigns on WhatsApp send."""

    list_display = ["name", "language", "channel", "is_active", "created_at"]
    list_filter = ["channel", "language", "is_active"]
    search_fields = ["name", "text"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "scope_list",
        "channel",
        "created_at",
        "last_used_at",
        "state",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "rate", "channel"]
        return ["name", "prefix", "scopes", "rate", "channel", *self.readonly_fields[1:]]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        api_key, raw_key = create_api_key(
            form.cleaned_data["name"],
            form.cleaned_data["scopes"],
            rate=form.cleaned_data["rate"],
            channel=form.cleaned_data["channel"],
            created_by=request.user,
        )
        obj.pk = api_key.pk
        obj.__dict__.update(api_key.__dict__)
        self.message_user(
            request,
            format_html(
                _("Copy this key now, it will not be shown again: {}"),
                format_html("<code class='api-key'>{}</code>", raw_key),
            ),
            messages.WARNING,
        )

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description=_("state"))
    def state(self, obj):
        return _("revoked") if obj.revoked_at else _("active")

    @admin.action(description=_("Revoke selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            revoke_api_key(api_key)
        self.message_user(request, _("Revoked %(count)d key(s).") % {"count": queryset.count()})


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["client", "key", "method", "path", "status_code", "created_at"]
    search_fields = ["key", "path"]
    list_filter = ["method", "status_code"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "is_active", "created_at"]


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["id", "topic", "created_at", "published_at", "attempts"]
    list_filter = ["topic"]
    readonly_fields = ["topic", "payload", "created_at", "published_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False


# django-otp's own device admins show a device's key and QR code to whoever may view devices:
# ours lists who has a second factor and lets an administrator remove one (a lost phone), so
# its owner enrols again at the next sign-in. Recovery codes go with it.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(TOTPDevice)
class SecondFactorAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "last_used_at")
    fields = ("user", "name", "confirmed", "last_used_at")
    readonly_fields = fields
    search_fields = ("user__username",)
    list_filter = ("confirmed",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def delete_model(self, request, obj):
        StaticDevice.objects.filter(user=obj.user).delete()
        super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        StaticDevice.objects.filter(user__in=queryset.values("user")).delete()
        super().delete_queryset(request, queryset)


@admin.register(AccessAttempt)
class LockedSignInAdmin(admin.ModelAdmin):
    """Failed sign-ins counted by django-axes: deleting a row unlocks that account (or address)
    before its cool-off ends."""

    list_display = ("username", "ip_address", "failures_since_start", "attempt_time")
    fields = ("username", "ip_address", "user_agent", "failures_since_start", "attempt_time")
    readonly_fields = fields
    search_fields = ("username", "ip_address")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(JalaliDateHierarchyMixin, admin.ModelAdmin):
    """Who touched which customer's data: search by the customer's id or the staff member's
    login. Entries are only ever added, by the doors that show or change her data."""

    list_display = ("at", "actor", "action", "customer_public_id", "path", "ip_address")
    list_filter = ("action",)
    search_fields = ("=customer_public_id", "actor", "=request_id")
    date_hierarchy = "at"
    fields = (
        "at",
        "action",
        "customer_public_id",
        "user",
        "actor",
        "api_key_prefix",
        "path",
        "ip_address",
        "request_id",
        "detail",
    )
    readonly_fields = fields
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
