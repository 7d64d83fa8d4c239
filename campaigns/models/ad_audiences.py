"""Audiences synced to ad platforms (Google Ads Customer Match, Meta Custom Audiences): which
segment goes to which list, the hashes each list was sent (so a sync sends only the
difference, and a removal can still be sent after her email is erased), each sync's log, and
the store purchases uploaded as offline conversions (once per order and platform)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AdPlatform(models.TextChoices):
    GOOGLE_ADS = "google_ads", _("Google Ads (Customer Match)")
    META = "meta", _("Meta (Custom Audiences)")


class HashKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class AdAudience(models.Model):
    """A segment kept in step with a list on an ad platform: Google Ads' user list (in the
    customer account `account_id`) or Meta's custom audience (of the ad account
    `account_id`). Only members who consent to marketing are sent, as SHA-256 hashes."""

    segment = models.ForeignKey(
        "campaigns.Segment",
        verbose_name=_("segment"),
        on_delete=models.CASCADE,
        related_name="ad_audiences",
    )
    platform = models.CharField(_("platform"), max_length=20, choices=AdPlatform.choices)
    external_id = models.CharField(
        _("list id at the platform"),
        max_length=64,
        help_text=_("Google Ads: the user list id. Meta: the custom audience id."),
    )
    account_id = models.CharField(
        _("account id"),
        max_length=64,
        blank=True,
        help_text=_(
            "Google Ads: the customer id (digits, no dashes). Meta: the ad account id. "
            "Empty: the account from the settings."
        ),
    )
    is_enabled = models.BooleanField(_("synced on schedule"), default=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["segment", "platform", "id"]
        verbose_name = _("ad audience")
        verbose_name_plural = _("ad audiences")
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="campaigns_adaudience_list"
            )
        ]

    def __str__(self):
        return f"{self.segment} → {self.get_platform_display()} {self.external_id}"


class AdAudienceMember(models.Model):
    """One hash the platform holds for this audience, as we last sent it. `customer` is
    emptied when she is erased: the hash is then kept only until its removal is sent."""

    audience = models.ForeignKey(
        AdAudience, verbose_name=_("audience"), on_delete=models.CASCADE, related_name="members"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=HashKind.choices)
    digest = models.CharField(_("SHA-256"), max_length=64)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        ordering = ["audience", "kind", "digest"]
        verbose_name = _("ad audience member")
        verbose_name_plural = _("ad audience members")
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "kind", "digest"], name="campaigns_adaudiencemember_hash"
            )
        ]

    def __str__(self):
        return f"{self.kind}:{self.digest[:12]}…"


class SyncStatus(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    RETRYING = "retrying", _("Failed, will retry")
    FAILED = "failed", _("Failed")
    DRY_RUN = "dry_run", _("Dry run (nothing sent)")


class AdAudienceSync(models.Model):
    """One sync of an audience: how many hashes were added and removed, or why it failed."""

    audience = models.ForeignKey(
        AdAudience, verbose_name=_("audience"), on_delete=models.CASCADE, related_name="syncs"
    )
    status = models.CharField(_("status"), max_length=20, choices=SyncStatus.choices)
    reason = models.CharField(_("started by"), max_length=40, blank=True)
    added = models.PositiveIntegerField(_("added"), default=0)
    removed = models.PositiveIntegerField(_("removed"), default=0)
    rejected = models.PositiveIntegerField(_("refused by the platform"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("ad audience sync")
        verbose_name_plural = _("ad audience syncs")

    def __str__(self):
        return f"{self.audience_id} @ {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class ConversionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to upload")
    UPLOADED = "uploaded", _("Uploaded")
    FAILED = "failed", _("Refused by the platform")


class AdConversionUpload(models.Model):
    """A store purchase after an ad click, uploaded to the platform of the click once."""

    order_number = models.CharField(_("order"), max_length=40)
    platform = models.CharField(_("platform"), max_length=20, choices=AdPlatform.choices)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    click_id = models.CharField(_("click id"), max_length=255, blank=True)
    clicked_at = models.DateTimeField(_("clicked"), null=True, blank=True)
    purchased_at = models.DateTimeField(_("purchased"))
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ConversionStatus.choices,
        default=ConversionStatus.PENDING,
    )
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    uploaded_at = models.DateTimeField(_("uploaded"), null=True, blank=True)

    class Meta:
        ordering = ["-purchased_at", "-id"]
        verbose_name = _("offline conversion upload")
        verbose_name_plural = _("offline conversion uploads")
        constraints = [
            models.UniqueConstraint(
                fields=["order_number", "platform"], name="campaigns_adconversion_once"
            )
        ]

    def __str__(self):
        return f"{self.order_number} → {self.platform} ({self.status})"
