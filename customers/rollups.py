"""Daily rollups the dashboards and reports read instead of scanning raw rows per request:
one row per metric, day, key (a channel, a store, a category, a cohort) and currency, kept
by `customers.services.rollups.refresh_rollups` (beat, every few minutes, the last days
again; the whole year on demand). `RollupRefresh` says when each metric was last brought
up to date, which every page shows beside its figures. The journeys (each purchase's runs
of channels) and the support figures (each conversation's durations) need more than a count
per key and have tables of their own."""

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


class JourneyFigure(models.Model):
    """Purchases of a day by the channel runs before them, for the journeys report in any
    window of days: the kinds of the last four runs of touches (a run: touches of one kind
    in a row), oldest first, and for each run the whole days between its last touch and the
    purchase. A window of N days keeps the runs whose days are at most N (always the
    nearest ones), so every window is a filter over these rows, not a scan of the timeline,
    and PostgreSQL groups the purchases by the kinds inside it (orders.reports.journey_runs
    computes the runs, steps_of turns the kinds inside a window into a journey)."""

    day = models.DateField(_("day"))
    purchase_kind = models.CharField(_("purchase channel kind"), max_length=20)
    # The last four runs, the nearest to the purchase first: each one's channel kind and the
    # whole days before the purchase of its last touch (empty and null where the purchase
    # had fewer runs in the year before it).
    nearest_kind = models.CharField(_("kind, nearest run"), max_length=20, blank=True, default="")
    nearest_days = models.PositiveSmallIntegerField(_("days, nearest run"), null=True)
    second_kind = models.CharField(_("kind, second run"), max_length=20, blank=True, default="")
    second_days = models.PositiveSmallIntegerField(_("days, second run"), null=True)
    third_kind = models.CharField(_("kind, third run"), max_length=20, blank=True, default="")
    third_days = models.PositiveSmallIntegerField(_("days, third run"), null=True)
    fourth_kind = models.CharField(_("kind, fourth run"), max_length=20, blank=True, default="")
    fourth_days = models.PositiveSmallIntegerField(_("days, fourth run"), null=True)
    count = models.BigIntegerField(_("purchases"), default=0)

    class Meta:
        app_label = "customers"
        verbose_name = _("journey figure")
        verbose_name_plural = _("journey figures")
        indexes = [models.Index(fields=["day"], name="journey_figure_day")]

    def __str__(self):
        return f"{self.day} {self.nearest_kind} → {self.purchase_kind}: {self.count}"


class SupportDailyFigure(models.Model):
    """The support report's figures of one local day, team and agent (their names, empty
    for none): of the conversations started that day, counts and each one's first response
    and resolution times in seconds, sorted, so percentiles over any period are computed
    exactly from them; of the CSAT answers given that day, counts and the ratings' sum.
    A year is a few thousand rows instead of every conversation (support.reports computes
    them, support_from_days adds them up)."""

    day = models.DateField(_("day"))
    # Null: no team or no agent, a group of its own in the report (as the raw rows say it).
    team = models.CharField(_("team"), max_length=100, null=True, blank=True)  # noqa: DJ001
    agent = models.CharField(_("agent"), max_length=150, null=True, blank=True)  # noqa: DJ001
    conversations = models.PositiveIntegerField(_("conversations"), default=0)
    with_sla = models.PositiveIntegerField(_("with an SLA"), default=0)
    breached = models.PositiveIntegerField(_("breached"), default=0)
    resolved = models.PositiveIntegerField(_("resolved"), default=0)
    # Comma-separated seconds, ascending.
    first_response_seconds = models.TextField(_("first response times"), blank=True, default="")
    resolution_seconds = models.TextField(_("resolution times"), blank=True, default="")
    csat_count = models.PositiveIntegerField(_("CSAT answers"), default=0)
    csat_satisfied = models.PositiveIntegerField(_("satisfied answers"), default=0)
    csat_rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)

    class Meta:
        app_label = "customers"
        verbose_name = _("support daily figure")
        verbose_name_plural = _("support daily figures")
        indexes = [models.Index(fields=["day"], name="support_figure_day")]

    def __str__(self):
        return f"{self.day} {self.team} {self.agent}: {self.conversations}"
