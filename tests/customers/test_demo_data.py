"""The customers demo stage: multi-channel histories, identified visitors, a pending merge
candidate, and Sara Rahimi for the shoe-buyer story."""

import pytest

from core.demo import STAGES, DemoContext
from customers.models import Customer, CustomerMerge, Event, MergeCandidate
from customers.selectors import customer_by_public_id

pytestmark = pytest.mark.django_db


def run_customer_stage(seed=1):
    ctx = DemoContext(size="small", seed=seed, quiet=True)
    STAGES["core.channels"].run(ctx)
    STAGES["customers.profiles"].run(ctx)
    return ctx


def test_demo_stage_builds_the_stories_later_issues_need():
    ctx = run_customer_stage()
    sara = ctx.shared["sara"]
    assert sara.full_name == "Sara Rahimi"
    assert {i.value for i in sara.identities.all()} >= {
        "sara@example.com",
        "+989121234567",
        "sara.rahimi",
    }
    # Her anonymous phone browsing and her laptop visit are one timeline now.
    assert set(sara.channels_used) >= {"mobile_app", "ads", "web"}
    assert sara.events.count() == 7
    assert MergeCandidate.objects.filter(status="pending").count() >= 1
    assert CustomerMerge.objects.filter(reason="anonymous profile identified").count() >= 10
    assert Customer.objects.live().filter(is_anonymous=True).exists()
    assert Event.objects.values("channel__kind").distinct().count() >= 8
    assert len(ctx.shared["customers"]) > 100


def test_demo_stage_can_run_twice():
    first = run_customer_stage()
    again = run_customer_stage()
    assert customer_by_public_id(again.shared["sara"].public_id).pk == first.shared["sara"].pk
    assert Customer.objects.filter(identities__value="sara@example.com").count() == 1
