from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from core.providers import delivery_reported
        from core.providers.kavenegar import register_receipt_source
        from core.staff_ui import register_dashboard_panel, register_nav_item
        from customers.links import (
            register_customer_link,
            register_customer_panel,
            register_privacy_handler,
        )

        from . import (
            demo_data,  # noqa: F401  (registers the campaigns' seed_demo stages)
            tasks,  # noqa: F401  (the services enqueue send_chunk by its name)
        )
        from .privacy import (
            erase_campaign_data,
            export_campaign_data,
            forget_suppressed_addresses,
            message_addresses_of,
        )
        from .views import customer_panel_context, dashboard_context

        # A merge re-points these rows from the merged profile to the survivor.
        for model, field in (
            ("campaigns.CampaignMessage", "customer"),
            ("campaigns.CouponCode", "customer"),
            ("campaigns.Redemption", "customer"),
            ("campaigns.JourneyRun", "customer"),
            ("campaigns.Unsubscribe", "customer"),
        ):
            register_customer_link(model, field)
        register_privacy_handler(
            "campaigns",
            export=export_campaign_data,
            erase=erase_campaign_data,
            traces=message_addresses_of,
            forget=forget_suppressed_addresses,
        )
        register_customer_panel(
            "campaigns",
            "campaigns/panels/customer.html",
            customer_panel_context,
            perm="campaigns.view_campaignmessage",
            order=40,
        )
        register_nav_item(
            "campaigns", _("Campaigns"), "campaigns:home", perm="campaigns.view_campaign", order=40
        )
        register_dashboard_panel(
            "campaigns.summary",
            "campaigns/panels/dashboard.html",
            dashboard_context,
            perm="campaigns.view_campaign",
            order=40,
        )
        delivery_reported.connect(_on_delivery_report, dispatch_uid="campaigns.delivery_reports")
        register_coupon_handler()
        register_receipt_source(_awaiting_receipt)


def _on_delivery_report(sender, **kwargs):
    from campaigns.services.tracking import handle_delivery_report

    handle_delivery_report(**kwargs)


def _awaiting_receipt(channel, since):
    from campaigns.services.tracking import awaiting_receipt

    return awaiting_receipt(channel, since)


def register_coupon_handler():
    """Orders apply coupon codes through this handler once orders.coupons exists."""
    try:
        from orders.coupons import register_coupon_handler as register
    except ImportError:
        return False
    from campaigns.services.coupons import CampaignCouponHandler

    register(CampaignCouponHandler())
    return True
