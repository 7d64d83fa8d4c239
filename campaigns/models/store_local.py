"""Store-local marketing: each customer's home store, kept as a table so a segment or the
"your size is back in your store" campaign finds a store's customers by an index, not by
ranking every customer's orders again (campaigns.services.store_local fills it)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class HomeStore(models.Model):
    """The store where she shops most: her orders naming a store plus her store visits,
    the most recent winning a tie. One row per customer (a merge may leave two until the
    next refresh)."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("home store"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    purchases = models.PositiveIntegerField(_("orders there"), default=0)
    visits = models.PositiveIntegerField(_("visits there"), default=0)
    last_at = models.DateTimeField(_("last there"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("worked out"), default=timezone.now)

    class Meta:
        ordering = ["customer_id"]
        verbose_name = _("home store")
        verbose_name_plural = _("home stores")
        indexes = [
            models.Index(fields=["store", "customer"], name="campaigns_homestore_store"),
            models.Index(fields=["customer"], name="campaigns_homestore_customer"),
        ]

    def __str__(self):
        return f"{self.customer_id} → {self.store_id}"


class PendingRestock(models.Model):
    """A variant replenished at a store whose waiting customers are not told yet. Written in
    the stock movement's own transaction (inventory's stock_replenished), so a broker that
    is down loses nothing: the task told after the commit, or the minute's sweep, tells
    them and deletes the row."""

    variant = models.ForeignKey(
        "catalog.ProductVariant",
        verbose_name=_("variant"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    store = models.ForeignKey(
        "inventory.Location",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    created_at = models.DateTimeField(_("replenished at"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("restock to tell")
        verbose_name_plural = _("restocks to tell")
        constraints = [
            models.UniqueConstraint(fields=["variant", "store"], name="campaigns_pending_restock")
        ]

    def __str__(self):
        return f"{self.variant_id} @ {self.store_id}"
