"""The admin's browsing by date in the calendar in force. Django's `date_hierarchy` groups rows
by Gregorian years and months (core.l10n would print Jalali names over Gregorian boundaries);
in the Jalali calendar a ModelAdmin with JalaliDateHierarchyMixin hides it and offers a filter
by Jalali month instead. The system check core.W003 names a date_hierarchy left without it."""

from datetime import date, datetime, time

import jdatetime
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.core.checks import Warning, register
from django.db import models
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import l10n

# Months offered, newest first: enough for two years of browsing; older rows are reached
# with the list's search or the API.
MONTHS_OFFERED = 24


def jalali_month_start(year: int, month: int) -> date:
    """The Gregorian day on which Jalali month `month` of `year` starts."""
    return jdatetime.date(year, month, 1).togregorian()


def next_jalali_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


class JalaliMonthFilter(admin.SimpleListFilter):
    """Rows whose `field_name` falls in one Jalali month (value "1405-09"), in the site's time
    zone; the months offered run from the newest row's back to the oldest's."""

    title = _("month")
    parameter_name = "jalali_month"
    field_name = ""

    def lookups(self, request, model_admin):
        bounds = model_admin.get_queryset(request).aggregate(
            first=Min(self.field_name), last=Max(self.field_name)
        )
        if bounds["first"] is None:
            return []
        first, last = (self._jalali(bounds[key]) for key in ("first", "last"))
        names = (
            jdatetime.date.j_months_fa
            if l10n.current().language == "fa"
            else jdatetime.date.j_months_en
        )
        months = []
        year, month = last.year, last.month
        while (year, month) >= (first.year, first.month) and len(months) < MONTHS_OFFERED:
            label = f"{names[month - 1]} {l10n.localise_digits(year)}"
            months.append((f"{year:04d}-{month:02d}", label))
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        return months

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        try:
            year, month = (int(part) for part in l10n.normalise_digits(value).split("-"))
            start = jalali_month_start(year, month)
            end = jalali_month_start(*next_jalali_month(year, month))
        except ValueError:
            return queryset.none()
        return queryset.filter(
            **{
                f"{self.field_name}__gte": self._bound(start),
                f"{self.field_name}__lt": self._bound(end),
            }
        )

    def _bound(self, day: date):
        """A month's first day as the field compares it: its local midnight for a moment."""
        if isinstance(self.field, models.DateTimeField):
            return timezone.make_aware(datetime.combine(day, time.min))
        return day

    @staticmethod
    def _jalali(value):
        if isinstance(value, datetime):
            value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        return jdatetime.date.fromgregorian(date=value)

    def __init__(self, request, params, model, model_admin):
        self.field = model._meta.get_field(self.field_name)
        super().__init__(request, params, model, model_admin)


def jalali_month_filter(field_name: str) -> type[JalaliMonthFilter]:
    return type(f"JalaliMonthFilter_{field_name}", (JalaliMonthFilter,), {"field_name": field_name})


class JalaliDateHierarchyMixin:
    """For a ModelAdmin with `date_hierarchy`: in the Jalali calendar (Persian, unless the
    staff member chose Gregorian), the Gregorian year/month links are hidden and the list is
    filtered by Jalali month instead. Per request: the ModelAdmin itself is not changed."""

    def _browses_by_jalali_month(self):
        return bool(self.date_hierarchy) and l10n.current().is_jalali

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if self._browses_by_jalali_month():
            filters.insert(0, jalali_month_filter(self.date_hierarchy))
        return filters

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)
        if self._browses_by_jalali_month():
            return _without_date_hierarchy(changelist)
        return changelist


_WITHOUT_DATE_HIERARCHY: dict[type, type] = {}


def _without_date_hierarchy(changelist: type[ChangeList]) -> type[ChangeList]:
    """`changelist` built with no date_hierarchy (ModelAdmin.get_changelist_instance passes
    the ModelAdmin's own, positionally, as the sixth argument)."""
    if changelist not in _WITHOUT_DATE_HIERARCHY:

        def __init__(self, request, model, list_display, links, list_filter, _hierarchy, *rest):
            changelist.__init__(self, request, model, list_display, links, list_filter, None, *rest)

        _WITHOUT_DATE_HIERARCHY[changelist] = type(
            f"Jalali{changelist.__name__}", (changelist,), {"__init__": __init__}
        )
    return _WITHOUT_DATE_HIERARCHY[changelist]


@register("admin")
def date_hierarchies_follow_the_calendar(app_configs=None, **kwargs):
    """A date_hierarchy without JalaliDateHierarchyMixin groups rows by Gregorian month under
    Jalali names for Persian staff."""
    warnings = []
    for model_admin in admin.site._registry.values():
        if model_admin.date_hierarchy and not isinstance(model_admin, JalaliDateHierarchyMixin):
            warnings.append(
                Warning(
                    f"{type(model_admin).__name__} has a date_hierarchy but browses by "
                    "Gregorian month in the Jalali calendar.",
                    hint="Add core.admin_dates.JalaliDateHierarchyMixin to its bases.",
                    obj=type(model_admin),
                    id="core.W003",
                )
            )
    return warnings
