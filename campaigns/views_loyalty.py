"""The staff's loyalty page: the programme's figures, its earn rules and tiers (edited in the
admin), and the referral report (who brought whom), as a page and as CSV."""

from decimal import Decimal

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from campaigns.models import ReferralStatus
from campaigns.services import loyalty
from core.exports import csv_lines

PAGE_SIZE = 50


@staff_member_required
@permission_required("campaigns.view_loyaltyentry", raise_exception=True)
def loyalty_home(request):
    wanted = request.GET.get("status") or ""
    if wanted not in ReferralStatus.values:
        wanted = ""
    referrals = loyalty.referral_report(status=wanted or None)
    if request.GET.get("format") == "csv" and request.user.has_perm("campaigns.view_referral"):
        return _referrals_csv(referrals)
    page = Paginator(referrals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/loyalty.html",
        {
            "figures": loyalty.program_figures(),
            "rules": [
                _with(rule, rate=plain(rule.points_per_unit)) for rule in loyalty.earn_rules()
            ],
            "tiers": [
                _with(tier, multiplier=plain(tier.earn_multiplier)) for tier in loyalty.tiers()
            ],
            "page": page,
            "statuses": ReferralStatus.choices,
            "status": wanted,
            "may_see_referrals": request.user.has_perm("campaigns.view_referral"),
        },
    )


def plain(value: Decimal) -> Decimal:
    """1.00000000 -> 1, 0.00000200 -> 0.000002 (never 1E+2)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _with(row, **values):
    for name, value in values.items():
        setattr(row, name, value)
    return row


def _referrals_csv(referrals):
    header = [
        _("Referred by"),
        _("New customer"),
        _("Code"),
        _("Status"),
        _("Why refused"),
        _("First order"),
        _("Points to the referrer"),
        _("Points to the new customer"),
        _("Created"),
    ]
    rows = (
        [
            referral.referrer.display_name,
            referral.referee.display_name,
            referral.code,
            referral.get_status_display(),
            referral.refusal,
            referral.order_number,
            referral.referrer_points,
            referral.referee_points,
            referral.created_at.isoformat(),
        ]
        for referral in referrals.iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(csv_lines(_with_header(header, rows)), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="referrals.csv"'
    return response


def _with_header(header, rows):
    yield header
    yield from rows
