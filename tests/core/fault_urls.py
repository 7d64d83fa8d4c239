"""The project's URLs plus doors that fail on purpose, for the tests of the failure answers
(tests/core/test_fault_answers.py): each does real work (a row written, a cache read) and
then fails the way a bug or a missing service would."""

import uuid

from django.core.cache import cache
from django.db import transaction
from django.http import Http404, HttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as project_urlpatterns
from core.models import Channel


class Bug(RuntimeError):
    """What a genuine bug raises."""


def _write(code):
    Channel.objects.create(code=code, name=code, kind="web")


def _fail_on_commit():
    raise Bug("an on_commit hook failed")


def fail(what):
    if what == "bug":
        raise Bug("a bug before anything was written")
    if what == "write-then-bug":
        _write("written")
        raise Bug("a bug after a row was committed")
    if what == "rolled-back-bug":
        with transaction.atomic():
            _write("rolled-back")
            raise Bug("a bug inside the transaction, which rolls back")
    if what == "hook-fails":
        with transaction.atomic():
            _write("hooked")
            transaction.on_commit(_fail_on_commit)
        return "unreachable"
    if what == "write-then-404":
        _write(f"written-before-404-{uuid.uuid4().hex[:8]}")
        raise Http404("no such thing")
    if what == "cache":
        cache.get("anything")
        return "the cache answered"
    raise ValueError(what)


class FailingApiView(APIView):
    permission_classes = []

    def post(self, request, what):
        return Response({"result": fail(what)})

    get = post


def failing_page(request, what):
    return HttpResponse(fail(what))


urlpatterns = [
    path("api/v1/test-failures/<str:what>/", FailingApiView.as_view()),
    path("test-failures/<str:what>/", failing_page),
    *project_urlpatterns,
]

handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
