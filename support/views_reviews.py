"""Product reviews' pages: the customer's review page behind the signed link of the review
request (public, in her language), the staff moderation list, and a review's photo for staff.
Thin: parse the form, call support.services.reviews, render."""

from django import forms
from django.contrib import messages as flash
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core import l10n
from support.models import Review, ReviewStatus
from support.services import reviews

VIEW = "support.view_review"
CHANGE = "support.change_review"
PAGE_SIZE = 50


class ReviewForm(forms.Form):
    sku = forms.CharField(max_length=64, widget=forms.HiddenInput)
    rating = forms.TypedChoiceField(
        label=gettext_lazy("Your rating"),
        coerce=int,
        choices=[(n, n) for n in range(5, 0, -1)],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=gettext_lazy("Your review"),
        required=False,
        max_length=reviews.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photo = forms.FileField(label=gettext_lazy("A photo (optional)"), required=False)


def _in_her_language(customer):
    """Her language (the profile's locale) when she has one, else the browser's."""
    if customer is not None and customer.locale:
        return l10n.for_customer(customer.locale)
    return translation.override(translation.get_language())


def review_form(request, token):
    """The public review page: the order's products, each with stars, text and a photo."""
    try:
        customer, order = reviews.order_of_link(token)
    except reviews.ReviewLinkRefused as refused:
        expired = refused.status_code == 410
        return render(
            request,
            "support/review_form.html",
            {"invalid": True, "expired": expired},
            status=refused.status_code,
        )
    with _in_her_language(customer):
        language = translation.get_language()
        errors, failed_sku, status = None, None, 200
        if request.method == "POST":
            form = ReviewForm(request.POST, request.FILES)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    reviews.submit_review(
                        customer=customer,
                        order=order,
                        sku=data["sku"],
                        rating=data["rating"],
                        text=data["text"],
                        photo=data.get("photo"),
                        language=language,
                    )
                except reviews.InvalidReview as error:
                    errors, failed_sku, status = error.fields, data["sku"], 400
                else:
                    return redirect(
                        reverse("support:review-form", args=[token]) + f"?sent={data['sku']}"
                    )
            else:
                errors = {
                    name: [str(message) for message in messages]
                    for name, messages in form.errors.items()
                }
                failed_sku, status = request.POST.get("sku", ""), 400
        labels = {name: field.label for name, field in ReviewForm.base_fields.items()}
        lines = reviews.reviewable_lines(order, customer, language=language)
        for line in lines:
            review = line["review"]
            line["rating"] = review.rating if review else None
            line["text"] = review.text if review else ""
            line["has_photo"] = bool(review and review.photo)
            line["errors"] = (
                [
                    {"name": name, "field": labels.get(name) or name, "messages": messages}
                    for name, messages in errors.items()
                ]
                if errors and line["sku"] == failed_sku
                else []
            )
            if line["errors"]:
                line["rating"] = request.POST.get("rating") or line["rating"]
                line["text"] = request.POST.get("text", line["text"])
        return render(
            request,
            "support/review_form.html",
            {
                "customer_name": customer.first_name,
                "order_number": order.number,
                "lines": lines,
                "stars": range(5, 0, -1),
                "sent": request.GET.get("sent", ""),
                "max_text": reviews.TEXT_MAX,
            },
            status=status,
        )


def _staff_view(perm):
    def decorate(view):
        return staff_member_required(permission_required(perm, raise_exception=True)(view))

    return decorate


@_staff_view(VIEW)
@require_GET
def moderation(request):
    """Reviews to moderate (pending first by default), newest first, paged."""
    status = request.GET.get("status", ReviewStatus.PENDING)
    if status not in (*ReviewStatus.values, "all"):
        status = ReviewStatus.PENDING
    rows = Review.objects.select_related("customer", "moderated_by", "conversation")
    if status != "all":
        rows = rows.filter(status=status)
    page = Paginator(rows.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "support/reviews.html",
        {
            "page": page,
            "status": status,
            "statuses": [*ReviewStatus.choices, ("all", _("All"))],
            "may_moderate": request.user.has_perm(CHANGE),
        },
    )


@_staff_view(CHANGE)
@require_POST
def moderate(request, pk):
    review = get_object_or_404(Review, pk=pk)
    try:
        reviews.moderate_review(review, request.POST.get("status", ""), by=request.user)
    except reviews.InvalidReview as error:
        flash.error(request, error.message)
        return redirect(reverse("support:reviews"))
    flash.success(request, _("Review saved."))
    back = request.POST.get("status_filter", "")
    query = f"?status={back}" if back in (*ReviewStatus.values, "all") else ""
    return redirect(reverse("support:reviews") + query)


@_staff_view(VIEW)
@require_GET
def photo(request, pk):
    """A review's photo, for staff who may read reviews, as the type its bytes were checked
    to be, never run by the browser."""
    review = get_object_or_404(Review, pk=pk)
    opened = reviews.photo_of(review)
    if opened is None:
        raise Http404
    response = FileResponse(opened, content_type=review.photo_content_type or "image/jpeg")
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response
