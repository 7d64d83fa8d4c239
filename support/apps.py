from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = _("Support")

    def ready(self):
        from core.providers import delivery_reported
        from core.providers.kavenegar import register_receipt_source
        from core.staff_ui import register_dashboard_panel, register_nav_item
        from customers.links import (
            register_customer_link,
            register_customer_panel,
            register_privacy_handler,
        )
        from support import demo_data, privacy, selectors  # noqa: F401 (registers demo stages)

        register_customer_link("support.Conversation", "customer")
        register_customer_link("support.Review", "customer")
        register_privacy_handler(
            "support",
            export=privacy.export_of,
            erase=privacy.erase_of,
            traces=privacy.addresses_of,
        )
        register_privacy_handler(
            "support_reviews", export=privacy.export_reviews_of, erase=privacy.erase_reviews_of
        )
        register_customer_panel(
            "support",
            "support/panels/customer_conversations.html",
            selectors.customer_panel_context,
            perm="support.view_conversation",
            order=30,
        )
        register_nav_item(
            "support", _("Inbox"), "support:inbox", perm="support.view_conversation", order=40
        )
        register_nav_item(
            "support_reports",
            _("Support reports"),
            "support:reports",
            perm="support.view_conversation",
            order=41,
        )
        register_nav_item(
            "support_reviews",
            _("Product reviews"),
            "support:reviews",
            perm="support.view_review",
            order=42,
        )
        register_dashboard_panel(
            "support.inbox",
            "support/panels/dashboard.html",
            selectors.dashboard_context,
            perm="support.view_conversation",
            order=40,
        )
        delivery_reported.connect(_on_delivery_report, dispatch_uid="support.delivery_reports")
        register_receipt_source(selectors.awaiting_receipt)

        from django.db.models.signals import post_delete, post_save

        from support.models import BusinessHours, Holiday, SlaPolicy, Team
        from support.services.sla import config_changed

        for model in (BusinessHours, Holiday, SlaPolicy, Team):
            for signal in (post_save, post_delete):
                signal.connect(
                    config_changed, sender=model, dispatch_uid=f"support.sla.{model.__name__}"
                )

        # Two profiles found to be one person: her open conversations fold into one.
        from support.services.conversations import on_customer_merged

        post_save.connect(
            on_customer_merged,
            sender="customers.CustomerMerge",
            dispatch_uid="support.fold_on_customer_merge",
        )


def _on_delivery_report(sender, channel, provider_message_id, status, detail=None, **kwargs):
    from support.services import record_delivery

    record_delivery(channel, provider_message_id, status, detail)
