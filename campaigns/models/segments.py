"""Segments (dynamic audiences and the snapshot taken when a campaign is sent) and message
templates with their translations."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.segment_words import describe
from core.models import ChannelKind


class Segment(models.Model):
    """A dynamic audience: `rules` (JSON, see campaigns.services.segments) compile to one SQL
    query over the customer record; the count is live, a snapshot is kept at send time."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    rules = models.JSONField(_("rules"), default=dict)
    compiled_description = models.TextField(_("rules in words"), blank=True, editable=False)
    is_ready_made = models.BooleanField(_("ready-made"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self):
        return self.name

    @property
    def rules_in_words(self):
        """The rules as the reader's language says them (`compiled_description` keeps the
        words of the last save, for the API)."""
        return describe(self.rules)

    rules_in_words.fget.short_description = _("rules in words")


class SegmentSnapshot(models.Model):
    """Who was in the segment when a campaign was sent: its rules then and how many matched."""

    segment = models.ForeignKey(
        Segment, verbose_name=_("segment"), on_delete=models.CASCADE, related_name="snapshots"
    )
    campaign = models.ForeignKey(
        "Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="snapshots",
    )
    rules = models.JSONField(_("rules then"), default=dict)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    taken_at = models.DateTimeField(_("taken"), default=timezone.now)

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("segment snapshot")
        verbose_name_plural = _("segment snapshots")

    def __str__(self):
        return f"{self.segment} @ {self.taken_at:%Y-%m-%d %H:%M} ({self.member_count})"


class MessageTemplate(models.Model):
    """What a message says on one kind of channel, in the Django template language.

    Email uses subject, html and text; SMS, messengers and push use text (push also the
    subject as its title). Translations per language are MessageTemplateTranslation rows,
    picked by the customer's locale."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    channel_kind = models.CharField(_("channel"), max_length=20, choices=ChannelKind.choices)
    language = models.CharField(_("language"), max_length=10, default="en")
    subject = models.CharField(_("subject / title"), max_length=255, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("text"), blank=True)
    # WhatsApp sends campaigns only as templates its owner approved: the name of the channel's
    # core.ProviderTemplate this template goes out as (its parameters filled from the plain
    # values a template may read). Empty on other kinds.
    provider_template_name = models.CharField(
        _("approved template at the provider"),
        max_length=512,
        blank=True,
        help_text=_(
            "For WhatsApp: the name of the provider template this message is sent as; "
            "its parameters are filled from the customer's values."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")

    def __str__(self):
        return self.name


class MessageTemplateTranslation(models.Model):
    template = models.ForeignKey(
        MessageTemplate,
        verbose_name=_("template"),
        on_delete=models.CASCADE,
        related_name="translations",
    )
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject / title"), max_length=255, blank=True)
    html = models.TextField(_("HTML"), blank=True)
    text = models.TextField(_("text"), blank=True)

    class Meta:
        ordering = ["template", "language"]
        verbose_name = _("template translation")
        verbose_name_plural = _("template translations")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="campaigns_template_language"
            )
        ]

    def __str__(self):
        return f"{self.template} [{self.language}]"
