"""Campaigns' rows follow the customer record: a merge re-points messages, codes and journey
runs; a privacy export includes them and an erasure blanks their addresses."""

import pytest

from campaigns.factories import CampaignMessageFactory, CouponPoolFactory
from campaigns.models import CampaignMessage, CouponCode
from campaigns.services.coupons import issue_code
from customers.factories import CustomerFactory
from customers.services import erase_customer, export_customer, merge_customers

pytestmark = pytest.mark.django_db


def test_a_merge_moves_messages_and_coupon_codes_to_the_survivor(channels):
    survivor, loser = CustomerFactory(), CustomerFactory()
    message = CampaignMessageFactory(customer=loser, channel=channels["email"], to="l@example.com")
    code = issue_code(CouponPoolFactory(prefix="M", code_kind="unique"), loser)
    merge_customers(survivor, loser, reason="same person", force=True)
    assert CampaignMessage.objects.get(pk=message.pk).customer_id == survivor.pk
    assert CouponCode.objects.get(pk=code.pk).customer_id == survivor.pk


def test_export_lists_messages_and_erase_blanks_addresses(channels):
    customer = CustomerFactory()
    CampaignMessageFactory(customer=customer, channel=channels["email"], to="e@example.com")
    document = export_customer(customer)
    assert document["apps"]["campaigns"]["messages"][0]["to"] == "e@example.com"
    erase_customer(customer)
    assert CampaignMessage.objects.get(customer=customer).to == ""
