"""Staff pages of orders: the list with filters, the order page (lines, stock reservations,
history, fulfilments, returns, timeline), the phone edit, the store-counter return/exchange.
Thin: every change goes through one service."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.api.errors import DomainError
from customers.selectors import timeline_for
from orders import selectors, services
from orders.forms import AddLineForm, ChangeVariantForm, CounterReturnForm, OrderFilterForm
from orders.models import CourierPickup, LineStatus, ReturnReason
from orders.services import pickups

PAGE_SIZE = 50
VIEW = "orders.view_order"
CHANGE = "orders.change_order"


def _order(number):
    order = selectors.order_by_number(number)
    if order is None:
        raise Http404
    return order


def _fail(request, error):
    """A refused change is shown to the person, with the fields named."""
    detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.fields.items())
    messages.error(request, f"{error.message}" + (f" ({detail})" if detail else ""))


@staff_member_required
@permission_required(VIEW, raise_exception=True)
def order_list(request):
    form = OrderFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    orders = selectors.orders_list(
        channel=filters.get("channel") or None,
        status=filters.get("status") or None,
        method=filters.get("method") or None,
        store=filters.get("store") or None,
        kind=filters.get("kind") or None,
        query=filters.get("q") or None,
    )
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "orders/order_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@staff_member_required
@permission_required(VIEW, raise_exception=True)
def order_detail(request, number):
    order = _order(number)
    context = selectors.order_detail(order)
    context["timeline"] = timeline_for(order.customer)[:30]
    context["add_form"] = AddLineForm()
    context["change_form"] = ChangeVariantForm()
    context["open_lines"] = [line for line in context["lines"] if line.status == LineStatus.OPEN]
    return render(request, "orders/order_detail.html", context)


@staff_member_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def order_action(request, number, action):
    """confirm, fulfil, complete, cancel: one button each on the order page."""
    order = _order(number)
    try:
        if action == "confirm":
            services.confirm_order(order, by=request.user)
        elif action == "fulfil":
            services.fulfil(order, by=request.user)
        elif action == "complete":
            services.complete_order(order, by=request.user)
        elif action == "cancel":
            services.cancel_order(order, by=request.user, reason=request.POST.get("reason", ""))
        elif action == "resolve":
            alert = request.POST.get("alert", "")
            if not (alert.isascii() and alert.isdigit() and len(alert) < 12):
                raise Http404
            if pickups.resolve_alert(int(alert), order=order) is None:
                raise Http404
        else:
            raise Http404
        messages.success(request, _("Order %(number)s: done.") % {"number": order.number})
    except DomainError as error:
        _fail(request, error)
    return redirect("orders:order-detail", number=order.number)


@staff_member_required
@permission_required(CHANGE, raise_exception=True)
def order_edit(request, number):
    """The phone-order edit: add a line, change a line's variant, remove a line."""
    order = _order(number)
    add_form = AddLineForm(request.POST if request.POST.get("do") == "add" else None)
    change_form = ChangeVariantForm(request.POST if request.POST.get("do") == "change" else None)
    if request.method == "POST":
        try:
            do = request.POST.get("do")
            if do == "add" and add_form.is_valid():
                data = add_form.cleaned_data
                services.add_line(
                    order,
                    sku=data["sku"],
                    quantity=data["quantity"],
                    channel=data["channel"],
                    by=request.user,
                )
                messages.success(request, _("Line added; stock reserved."))
                return redirect("orders:order-edit", number=order.number)
            if do == "change" and change_form.is_valid():
                data = change_form.cleaned_data
                services.change_variant(
                    order,
                    line_id=data["line"],
                    sku=data["sku"],
                    channel=data["channel"],
                    by=request.user,
                )
                messages.success(request, _("Variant changed; stock follows."))
                return redirect("orders:order-edit", number=order.number)
            if do == "remove":
                services.remove_line(
                    order,
                    line_id=int(request.POST.get("line", 0)),
                    channel=request.POST.get("channel") or "phone",
                    by=request.user,
                )
                messages.success(request, _("Line removed; stock released."))
                return redirect("orders:order-edit", number=order.number)
        except DomainError as error:
            _fail(request, error)
        except ValueError:
            messages.error(request, _("Choose a line."))
    order = _order(number)
    return render(
        request,
        "orders/order_edit.html",
        {
            "order": order,
            "lines": [line for line in order.lines.all() if line.status == LineStatus.OPEN],
            "add_form": add_form,
            "change_form": change_form,
        },
    )


@staff_member_required
@permission_required(CHANGE, raise_exception=True)
def counter_return(request):
    """At a store counter: take goods back from an order of any channel, refund them or hand
    over other goods (an exchange) in one step."""
    form = CounterReturnForm(request.POST or None, initial={"order": request.GET.get("order", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        order = selectors.order_by_number(data["order"].strip())
        if order is None:
            form.add_error("order", _("No order has this number."))
        else:
            line = services.line_of(order, data["sku"])
            if line is None:
                form.add_error("sku", _("This SKU is not in the order."))
            else:
                items = [
                    {"line_id": line.pk, "quantity": data["quantity"], "reason": data["reason"]}
                ]
                try:
                    if data["new_sku"]:
                        record = services.exchange(
                            order,
                            return_lines=items,
                            new_lines=[
                                {"sku": data["new_sku"].strip(), "quantity": data["quantity"]}
                            ],
                            channel="store",
                            location=data["location"],
                            note=data["note"],
                            by=request.user,
                        )
                        messages.success(
                            request,
                            _("Exchanged: return %(ret)s, new goods on %(new)s.")
                            % {"ret": record.return_request.number, "new": record.new_order.number},
                        )
                    else:
                        ret = services.create_return(
                            order,
                            lines=items,
                            channel="store",
                            location=data["location"],
                            receive=True,
                            note=data["note"],
                            by=request.user,
                        )
                        messages.success(
                            request,
                            _("Return %(ret)s received; refund %(amount)s.")
                            % {"ret": ret.number, "amount": ret.refund_amount},
                        )
                    return redirect("orders:order-detail", number=order.number)
                except DomainError as error:
                    for name, msgs in error.fields.items():
                        field = {
                            "lines.0.quantity": "quantity",
                            "new_lines": "new_sku",
                            "sku": "new_sku",
                        }.get(name)
                        if field:
                            form.add_error(field, " ".join(msgs))
                    form.add_error(None, error.message)
    return render(request, "orders/counter_return.html", {"form": form})


@staff_member_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def pickup_collect(request, pk):
    pickup = CourierPickup.objects.select_related("return_request__order").filter(pk=pk).first()
    if pickup is None:
        raise Http404
    try:
        services.collect_pickup(pickup, by=request.user)
        messages.success(request, _("Collected; the goods are received."))
    except DomainError as error:
        _fail(request, error)
    return redirect("orders:order-detail", number=pickup.return_request.order.number)


@staff_member_required
@permission_required(VIEW, raise_exception=True)
def returned_products(request):
    """Which products come back most, over the last 30, 90 or 365 days, in every channel."""
    try:
        days = int(request.GET.get("days", 90))
    except ValueError:
        days = 90
    if days not in selectors.RETURN_WINDOWS:
        days = 90
    rows = selectors.most_returned_products(days=days)
    reasons = dict(ReturnReason.choices)
    for row in rows:
        row["reasons"] = [(reasons.get(code, code), units) for code, units in row["reasons"]]
    return render(
        request,
        "orders/returned_products.html",
        {"rows": rows, "days": days, "windows": selectors.RETURN_WINDOWS},
    )
