"""What the connector remembers about a shop: which WooCommerce product (or variation) each
of our variants is, each webhook delivery received (so a replay stores nothing twice), and
the last modification of each WooCommerce order applied (so an older update never undoes a
newer one)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductLink(models.Model):
    """Our variant is this product (variation_id 0: a simple product) or this variation of
    a variable product in the channel's WooCommerce shop."""

    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        related_name="woocommerce_links",
        on_delete=models.CASCADE,
    )
    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=_("variant"),
        related_name="woocommerce_links",
        on_delete=models.CASCADE,
    )
    product_id = models.PositiveBigIntegerField(_("WooCommerce product id"))
    variation_id = models.PositiveBigIntegerField(
        _("WooCommerce variation id"), default=0, help_text=_("0 for a simple product.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["channel_id", "product_id", "variation_id"]
        verbose_name = _("WooCommerce product link")
        verbose_name_plural = _("WooCommerce product links")
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="woo_link_variant"),
            models.UniqueConstraint(
                fields=["channel", "product_id", "variation_id"], name="woo_link_product"
            ),
        ]

    def __str__(self):
        where = f"{self.product_id}/{self.variation_id}" if self.variation_id else self.product_id
        return f"{self.variant_id} = #{where}"


class DeliveryOutcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Ignored (stale or not for us)")
    REFUSED = "refused", _("Refused")


class WebhookDelivery(models.Model):
    """One delivery from the shop. WooCommerce's delivery id is a hash of the webhook id and
    the second it was sent, so two deliveries may share it; the body's digest makes a
    delivery one row. A refused delivery may be sent again and is then read again."""

    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        related_name="woocommerce_deliveries",
        on_delete=models.CASCADE,
    )
    delivery_id = models.CharField(_("delivery id"), max_length=100, blank=True)
    webhook_id = models.CharField(_("webhook id"), max_length=40, blank=True)
    topic = models.CharField(_("topic"), max_length=60)
    resource_id = models.CharField(_("resource id"), max_length=40, blank=True)
    digest = models.CharField(max_length=64)
    outcome = models.CharField(_("outcome"), max_length=10, choices=DeliveryOutcome.choices)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("WooCommerce webhook delivery")
        verbose_name_plural = _("WooCommerce webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["channel", "digest"], name="woo_delivery_once")
        ]

    def __str__(self):
        return f"{self.topic} {self.resource_id} ({self.outcome})"


class OrderLink(models.Model):
    """A WooCommerce order and ours; `modified_at` is the shop's date_modified_gmt of the
    last version applied."""

    channel = models.ForeignKey(
        "core.Channel",
        verbose_name=_("channel"),
        related_name="woocommerce_orders",
        on_delete=models.CASCADE,
    )
    woo_order_id = models.PositiveBigIntegerField(_("WooCommerce order id"))
    order = models.OneToOneField(
        "orders.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        related_name="woocommerce_link",
        on_delete=models.CASCADE,
    )
    woo_status = models.CharField(_("WooCommerce status"), max_length=30, blank=True)
    modified_at = models.DateTimeField(_("modified in WooCommerce"), null=True, blank=True)

    class Meta:
        ordering = ["channel_id", "-woo_order_id"]
        verbose_name = _("WooCommerce order link")
        verbose_name_plural = _("WooCommerce order links")
        constraints = [
            models.UniqueConstraint(fields=["channel", "woo_order_id"], name="woo_order_once")
        ]

    def __str__(self):
        return f"#{self.woo_order_id} ({self.woo_status})"
