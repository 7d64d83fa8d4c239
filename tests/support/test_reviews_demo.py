"""The demo's reviews: some approved (the products' ratings), some waiting on the moderation
page, a one-star one with its conversation; seeded quietly."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from core.roles import SUPPORT_AGENT
from support.models import Review

pytestmark = pytest.mark.django_db


def test_the_demo_has_reviews_to_moderate_and_a_low_one_with_its_conversation(staff_in_role):
    out, err = StringIO(), StringIO()
    stages = ["core.", "customers.", "catalog.products", "inventory.", "orders.journeys"]
    arguments = [a for stage in [*stages, "support."] for a in ("--only", stage)]
    call_command("seed_demo", "--seed", "3", *arguments, stdout=out, stderr=err)
    assert "Traceback" not in err.getvalue()
    statuses = list(Review.objects.values_list("status", flat=True))
    assert statuses.count("approved") == 2
    assert statuses.count("pending") >= 2
    low = Review.objects.get(rating=1)
    assert low.conversation is not None
    assert low.conversation.related_order_number == low.order_number

    agent = Client()
    agent.force_login(staff_in_role(SUPPORT_AGENT))
    page = agent.get(reverse("support:reviews")).content.decode()
    assert page.count("data-review=") == statuses.count("pending")
