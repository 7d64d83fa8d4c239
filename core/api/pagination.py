"""Paging of every list: page numbers for staff-sized lists, a cursor for long feeds."""

from rest_framework.pagination import CursorPagination, PageNumberPagination


class PagePagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(CursorPagination):
    """For long, growing lists (timelines, ledgers): stable under inserts."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 500
