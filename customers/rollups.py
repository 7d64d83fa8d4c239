"""Daily rollups the dashboards and reports read instead of scanning raw rows per request:
one row per metric, day, key (a channel, a store, a category, a journey) and currency, kept
by `customers.services.rollups.refresh_rollups` (beat, every few minutes, the last days
again; the whole year on demand). `RollupRefresh` says when each metric was last brought
up to date, which every page shows beside its figures."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DailyFigure(models.Model):
    metric = models.CharField(_("metric"), max_length=40)
    day = models.DateField(_("day"))
    key = models.CharField(_("key"), max_length=200, blank=True, default="")
    currency = models.CharField(_("currency"), max_length=3, blank=True, default="")
    count = models.BigIntegerField(_("count"), default=0)
    amount = models.DecimalField(_("amount"), max_digits=20, decimal_places=2, default=0)
    # A second count where a metric has two (researched purchases, breached conversations).
    extra = models.BigIntegerField(_("second count"), default=0)

    class Meta:
        app_label = "customers"
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "day", "key", "currency"], name="daily_figure_unique"
            )
        ]

    def __str__(self):
        return f"{self.metric} {self.day} {self.key} {self.currency}: {self.count}"


class RollupRefresh(models.Model):
    metric = models.CharField(_("metric"), max_length=40, unique=True)
    refreshed_at = models.DateTimeField(_("refreshed"), default=timezone.now)
    first_day = models.DateField(_("from"), null=True, blank=True)
    last_day = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        app_label = "customers"
        verbose_name = _("rollup refresh")
        verbose_name_plural = _("rollup refreshes")

    def __str__(self):
        return f"{self.metric} @ {self.refreshed_at:%Y-%m-%d %H:%M}"
