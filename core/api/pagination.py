"""Paging of every list: page numbers for staff-sized lists, a cursor for long feeds.

A `page_size` that is not a whole number from 1 up is refused with a 400 naming it (DRF
would silently fall back to the default); above the maximum it is cut to the maximum, as
the schema says."""

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination

MAX_PAGE_SIZE = 500


class StrictPageSizeMixin:
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return min(int(raw), self.max_page_size)


class PagePagination(StrictPageSizeMixin, PageNumberPagination):
    pass


class NewestFirstCursorPagination(StrictPageSizeMixin, CursorPagination):
    """For long, growing lists (timelines, ledgers): stable under inserts."""

    ordering = "-id"
