from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _

from inventory.signals import stock_replenished  # signals only, no models: safe at import


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
            tasks,  # noqa: F401  (the services enqueue send_chunk, the audiences' sync by name)
        )
        from .privacy import (
            erase_campaign_data,
            export_campaign_data,
            forget_suppressed_addresses,
            message_addresses_of,
        )
        from .views import customer_panel_context, dashboard_context, loyalty_panel_context

        # A merge re-points these rows from the merged profile to the survivor.
        for model, field in (
            ("campaigns.CampaignMessage", "customer"),
            ("campaigns.CouponCode", "customer"),
            ("campaigns.Redemption", "customer"),
            ("campaigns.JourneyRun", "customer"),
            ("campaigns.Unsubscribe", "customer"),
            ("campaigns.LoyaltyEntry", "customer"),
            ("campaigns.ReferralCode", "customer"),
            ("campaigns.Referral", "referrer"),
            ("campaigns.Referral", "referee"),
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
        register_customer_panel(
            "loyalty",
            "campaigns/panels/loyalty.html",
            loyalty_panel_context,
            perm="campaigns.view_loyaltyentry",
            order=35,
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
        register_ad_audiences()
        register_coupon_handler()
        register_receipt_source(_awaiting_receipt)
        register_store_local()


def _on_delivery_report(sender, **kwargs):
    from campaigns.services.tracking import handle_delivery_report

    handle_delivery_report(**kwargs)


def _awaiting_receipt(channel, since):
    from campaigns.services.tracking import awaiting_receipt

    return awaiting_receipt(channel, since)


def register_ad_audiences():
    """Audiences on ad platforms follow merges and withdrawn consent (erasures: through
    campaigns.privacy)."""
    # Called from ready(): customers.links imports models, which apps.py cannot at its top.
    from customers.links import register_customer_link

    register_customer_link("campaigns.AdAudienceMember", "customer")
    register_customer_link("campaigns.AdConversionUpload", "customer")
    post_save.connect(
        _on_consent_saved, sender="customers.Consent", dispatch_uid="campaigns.ad_audiences"
    )


def _on_consent_saved(sender, instance, created, **kwargs):
    # Imported when a consent is saved, like _on_delivery_report: services import models.
    from campaigns.services.ad_audiences import on_consent_recorded

    if created:
        on_consent_recorded(instance)


def register_store_local():
    """A merge re-points home stores (the next refresh keeps one); a replenishment at a store
    tells the customers waiting for that size there. An export shows her home store and an
    erasure forgets it through campaigns.privacy."""
    # Called from ready(), like register_ad_audiences: customers.links imports models.
    from customers.links import register_customer_link

    register_customer_link("campaigns.HomeStore", "customer")
    stock_replenished.connect(_on_stock_replenished, dispatch_uid="campaigns.store_local")


def _on_stock_replenished(sender, pairs, **kwargs):
    # Imported when stock moves, like _on_delivery_report: services import models. The pairs
    # are written in the movement's transaction; the task after its commit tells them, and
    # beat's sweep does if the broker was down.
    from campaigns.services.store_local import TELL_TASK, note_replenished
    from core.services.enqueue import enqueue_after_commit

    note_replenished(pairs)
    enqueue_after_commit(TELL_TASK)


def register_coupon_handler():
    """Orders apply coupon codes through this handler once orders.coupons exists."""
    try:
        from orders.coupons import register_coupon_handler as register
    except ImportError:
        return False
    from campaigns.services.coupons import CampaignCouponHandler

    register(CampaignCouponHandler())
    return True
