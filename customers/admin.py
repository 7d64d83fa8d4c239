"""Admin for the customer record: profiles (export and erase as actions), identities, events,
consents, the merge audit, merge candidates (approve / reject as actions), privacy requests.

Actions are doors: they call the customers services, so the admin follows the same rules as
the API."""

import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin_dates import JalaliDateHierarchyMixin
from core.api.errors import DomainError
from core.models import AuditAction
from core.services import audit
from customers.event_names import label_of
from customers.labels import merge_reason_label
from customers.models import (
    Consent,
    Customer,
    CustomerMerge,
    Event,
    Identity,
    MergeCandidate,
    MergeCandidateStatus,
    PrivacyRequest,
)
from customers.services import (
    approve_merge_candidate,
    erase_customer,
    export_customer,
    reject_merge_candidate,
)


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ["kind", "value", "partner", "is_verified", "created_at"]
    readonly_fields = ["created_at"]


class ConsentInline(admin.TabularInline):
    model = Consent
    extra = 0
    fields = ["channel_kind", "purpose", "status", "source", "recorded_at"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-recorded_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("merged", _("Merged away")), ("erased", _("Erased"))]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(merged_into__isnull=True)
        if self.value() == "merged":
            return queryset.filter(merged_into__isnull=False)
        if self.value() == "erased":
            return queryset.filter(erased_at__isnull=False)
        return queryset


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "public_id",
        "is_anonymous",
        "orders_count",
        "events_count",
        "last_seen_at",
        "page_link",
    ]
    list_filter = [StateFilter, "is_anonymous", "preferred_channel"]
    search_fields = ["first_name", "last_name", "identities__value", "=public_id"]
    readonly_fields = [
        "public_id",
        "created_at",
        "first_seen_at",
        "last_seen_at",
        "orders_count",
        "lifetime_spend",
        "channels_used",
        "events_count",
        "merged_into",
        "merged_at",
        "erased_at",
        "is_anonymous",
    ]
    fields = [
        "first_name",
        "last_name",
        "locale",
        "preferred_channel",
        "traits",
        "latitude",
        "longitude",
        *readonly_fields,
    ]
    inlines = [IdentityInline, ConsentInline]
    actions = ["export_selected", "erase_selected"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("merged_into")

    def save_related(self, request, form, formsets, change):
        """Edits of her profile, identities or consents here are on the audit trail."""
        super().save_related(request, form, formsets, change)
        changed = list(form.changed_data) + [
            formset.prefix for formset in formsets if formset.has_changed()
        ]
        if change and changed:
            audit.record(
                AuditAction.EDIT, form.instance.public_id, detail={"changed": sorted(changed)}
            )

    @admin.display(description=_("360 page"))
    def page_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("customers:detail", args=[obj.public_id]), _("open")
        )

    # The export holds every app's data of the customer (conversations, campaign messages)
    # and is recorded as a privacy request: as in the API, it needs customers.change_customer.
    @admin.action(
        description=_("Export all data of the selected customers (JSON)"), permissions=["change"]
    )
    def export_selected(self, request, queryset):
        documents = [
            export_customer(customer, requested_by=request.user, source="admin")
            for customer in queryset.filter(merged_into__isnull=True)
        ]
        body = documents[0] if len(documents) == 1 else {"customers": documents}
        response = HttpResponse(
            json.dumps(body, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json",
        )
        name = (
            f"customer-{documents[0]['customer']['id']}.json"
            if len(documents) == 1
            else "customers-export.json"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(
        description=_("Erase personal data of the selected customers"),
        permissions=["delete"],
    )
    def erase_selected(self, request, queryset):
        customers = list(queryset.filter(merged_into__isnull=True))
        if request.POST.get("confirm") == "yes":
            for customer in customers:
                erase_customer(customer, requested_by=request.user, source="admin")
            self.message_user(
                request,
                ngettext(
                    "Erased the personal data of %d customer.",
                    "Erased the personal data of %d customers.",
                    len(customers),
                )
                % len(customers),
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/customers/confirm_erase.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Erase personal data?"),
                "customers": customers,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "partner", "is_verified", "customer", "created_at"]
    list_filter = ["kind", "is_verified"]
    search_fields = ["value", "partner"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]


@admin.register(Event)
class EventAdmin(JalaliDateHierarchyMixin, admin.ModelAdmin):
    list_display = ["event", "customer", "channel", "occurred_at", "source", "message_id"]
    list_filter = ["channel", "name"]
    search_fields = ["message_id", "=customer__public_id"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer", "channel"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["received_at"]

    @admin.display(description=_("event"), ordering="name")
    def event(self, obj):
        """`order_completed` as staff read it (customers.event_names)."""
        return label_of(obj.name)


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """History is append-only: decisions are added, never edited."""

    list_display = ["customer", "channel_kind", "purpose", "status", "source", "recorded_at"]
    list_filter = ["channel_kind", "purpose", "status"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "survivor", "loser_public_id", "why", "merged_by", "source"]
    list_select_related = ["survivor", "merged_by"]
    search_fields = ["=loser_public_id", "=survivor__public_id"]
    readonly_fields = [f.name for f in CustomerMerge._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("reason"), ordering="reason")
    def why(self, obj):
        return merge_reason_label(obj.reason)


@admin.register(MergeCandidate)
class MergeCandidateAdmin(admin.ModelAdmin):
    list_display = ["created_at", "customer", "other", "why", "status", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["customer", "other", "decided_by"]
    readonly_fields = [f.name for f in MergeCandidate._meta.fields]
    actions = ["approve", "reject"]

    @admin.display(description=_("reason"), ordering="reason")
    def why(self, obj):
        return merge_reason_label(obj.reason)

    def has_add_permission(self, request):
        return False

    def _decide(self, request, queryset, decide, done_message):
        done = 0
        for candidate in queryset.filter(status=MergeCandidateStatus.PENDING):
            try:
                decide(candidate, decided_by=request.user)
                done += 1
            except DomainError as error:
                self.message_user(request, f"{candidate}: {error.message}", messages.ERROR)
        self.message_user(request, done_message % done, messages.SUCCESS)

    @admin.action(
        description=_("Approve: merge the newer profile into the older"), permissions=["change"]
    )
    def approve(self, request, queryset):
        self._decide(request, queryset, approve_merge_candidate, _("Merged %d pair(s)."))

    @admin.action(description=_("Reject: they are different people"), permissions=["change"])
    def reject(self, request, queryset):
        self._decide(request, queryset, reject_merge_candidate, _("Rejected %d pair(s)."))


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "customer", "requested_by", "source"]
    list_filter = ["kind"]
    list_select_related = ["customer", "requested_by"]
    readonly_fields = [f.name for f in PrivacyRequest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
