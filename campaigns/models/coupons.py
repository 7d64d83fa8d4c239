"""Coupons: a pool (the discount and its limits), its codes and their redemptions on orders."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Channel


class CodeKind(models.TextChoices):
    SHARED = "shared", _("One shared code")
    UNIQUE = "unique", _("A unique code per customer")


class DiscountKind(models.TextChoices):
    PERCENTAGE = "percentage", _("Percentage")
    AMOUNT = "amount", _("Amount")


class CouponPool(models.Model):
    """A discount and the codes that give it. Redeemable in every selling channel and store,
    unless `allowed_channels` or `allowed_stores` name some: then only there."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    code_kind = models.CharField(_("codes"), max_length=10, choices=CodeKind.choices)
    prefix = models.CharField(
        _("prefix / shared code"),
        max_length=40,
        help_text=_("The shared code itself, or the prefix of unique codes."),
    )
    discount_kind = models.CharField(_("discount"), max_length=12, choices=DiscountKind.choices)
    discount_value = models.DecimalField(_("value"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    minimum_spend = models.DecimalField(
        _("minimum spend"), max_digits=12, decimal_places=2, default=0
    )
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    max_uses_per_code = models.PositiveIntegerField(
        _("uses per code"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    max_uses_per_customer = models.PositiveIntegerField(
        _("uses per customer"), null=True, blank=True, default=1, help_text=_("Empty: unlimited.")
    )
    first_purchase_only = models.BooleanField(_("first purchase only"), default=False)
    allowed_channels = models.ManyToManyField(
        Channel,
        verbose_name=_("only in these channels"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every channel."),
    )
    allowed_stores = models.ManyToManyField(
        "inventory.Location",
        verbose_name=_("only in these stores"),
        blank=True,
        related_name="+",
        help_text=_("Empty: every store, and orders that name no store."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("coupon pool")
        verbose_name_plural = _("coupon pools")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_value__gt=0), name="campaigns_coupon_value_positive"
            ),
            models.CheckConstraint(
                condition=~Q(discount_kind="percentage") | Q(discount_value__lte=100),
                name="campaigns_coupon_percentage_max_100",
            ),
        ]

    def __str__(self):
        return self.name


class CouponCode(models.Model):
    """One redeemable code. `times_redeemed` only moves through a guarded UPDATE."""

    pool = models.ForeignKey(
        CouponPool, verbose_name=_("pool"), on_delete=models.CASCADE, related_name="codes"
    )
    code = models.CharField(_("code"), max_length=60, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("issued to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_codes",
    )
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("coupon code")
        verbose_name_plural = _("coupon codes")
        constraints = [
            models.UniqueConstraint(
                fields=["pool", "customer"],
                condition=Q(customer__isnull=False),
                name="campaigns_one_code_per_customer_and_pool",
            )
        ]

    def __str__(self):
        return self.code


class Redemption(models.Model):
    """A code used on an order, in the channel where the order was placed."""

    code = models.ForeignKey(
        CouponCode, verbose_name=_("code"), on_delete=models.PROTECT, related_name="redemptions"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="coupon_redemptions",
    )
    channel = models.ForeignKey(
        Channel, verbose_name=_("channel"), null=True, blank=True, on_delete=models.PROTECT
    )
    order_number = models.CharField(_("order"), max_length=64)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=0)
    redeemed_at = models.DateTimeField(_("redeemed"), default=timezone.now)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["code", "order_number"], name="campaigns_redemption_once_per_order"
            )
        ]

    def __str__(self):
        return f"{self.code} on {self.order_number}"
