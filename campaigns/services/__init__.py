"""Campaigns' writes, one module per capability. Other apps import from here:

from campaigns.services import issue_code, quote_coupon, redeem_coupon, release_coupon
"""

from campaigns.services.abtest import decide_winner, two_proportion_z_test
from campaigns.services.coupons import create_pool, generate_codes, issue_code
from campaigns.services.coupons import quote as quote_coupon
from campaigns.services.coupons import redeem as redeem_coupon
from campaigns.services.coupons import release as release_coupon
from campaigns.services.defaults import install_defaults
from campaigns.services.delivery import enqueue_due, recover_stuck_sends, send_messages
from campaigns.services.drafts import VariantDraft, create_campaign
from campaigns.services.journeys import run_journeys
from campaigns.services.launch import (
    cancel_campaign,
    schedule_campaign,
    send_campaign,
    start_campaign,
)
from campaigns.services.tracking import (
    handle_delivery_report,
    poll_conversions,
    record_click,
    record_open,
    unsubscribe,
)

__all__ = [
    "VariantDraft",
    "cancel_campaign",
    "create_campaign",
    "create_pool",
    "decide_winner",
    "enqueue_due",
    "generate_codes",
    "handle_delivery_report",
    "install_defaults",
    "issue_code",
    "poll_conversions",
    "quote_coupon",
    "recover_stuck_sends",
    "record_click",
    "record_open",
    "redeem_coupon",
    "release_coupon",
    "run_journeys",
    "schedule_campaign",
    "send_campaign",
    "send_messages",
    "start_campaign",
    "two_proportion_z_test",
    "unsubscribe",
]
