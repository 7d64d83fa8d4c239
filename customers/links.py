"""The one hook module other apps use to plug into the customer record.

Call these from your AppConfig.ready():

    from customers.links import (
        register_customer_link, register_privacy_handler, register_customer_panel)

    # a merge re-points orders.Order.customer from the merged profile to the survivor
    register_customer_link("orders.Order", "customer")
    # export adds export(customer) under "orders"; erase calls erase(customer) first
    register_privacy_handler("orders", export=export_orders_of, erase=erase_orders_of,
                             traces=shipping_phones_of)
    # a panel on the customer 360 page; context(request, customer) -> dict
    register_customer_panel("orders", "orders/panels/customer_orders.html",
                            orders_panel_context, perm="orders.view_order", order=10)

Customers never imports the other apps; they register here and merges, privacy requests
and the 360 page call back into them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import models

from customers.models import Customer


@dataclass(frozen=True)
class CustomerLink:
    model_label: str
    field_name: str

    @property
    def model(self) -> type[models.Model]:
        return apps.get_model(self.model_label)


@dataclass(frozen=True)
class PrivacyHandler:
    key: str
    export: Callable | None
    erase: Callable | None
    traces: Callable | None = None
    forget: Callable | None = None

    @property
    def app_label(self) -> str:
        func = self.erase or self.export
        return func.__module__.split(".")[0]


@dataclass(frozen=True)
class CustomerPanel:
    key: str
    template: str
    context: Callable
    perm: str | None
    order: int


CUSTOMER_LINKS: dict[tuple[str, str], CustomerLink] = {}
PRIVACY_HANDLERS: dict[str, PrivacyHandler] = {}
CUSTOMER_PANELS: dict[str, CustomerPanel] = {}


def _label_of(model_or_label) -> str:
    if isinstance(model_or_label, str):
        return model_or_label.lower()
    return model_or_label._meta.label_lower


def register_customer_link(model_label_or_model, field_name: str) -> None:
    """A merge re-points `field_name` (a ForeignKey to Customer) of this model's rows from the
    merged profile to the survivor, in the merge's transaction."""
    label = _label_of(model_label_or_model)
    CUSTOMER_LINKS[(label, field_name)] = CustomerLink(label, field_name)


def register_privacy_handler(
    key: str | None = None, *, export=None, erase=None, traces=None, forget=None
) -> None:
    """`export(customer) -> JSON-able` is added to the customer's export under `key`;
    `erase(customer)` must remove that app's personal data of the customer (keeping
    anonymised aggregates). For the copies held where no row points at her:
    `traces(customer) -> iterable of str` names the addresses, phone numbers and names the
    app's rows hold for her (read before anything is erased), and `forget(person)` removes
    those of a core.services.traces.PersonTraces from the app's rows that do not point at a
    customer (address lists, logs). All run inside the privacy service's transaction."""
    func = export or erase
    if func is None:
        raise ValueError("Give export=, erase= or both.")
    key = key or func.__module__.split(".")[0]
    PRIVACY_HANDLERS[key] = PrivacyHandler(key, export, erase, traces, forget)


def register_customer_panel(key, template, context_func=None, perm=None, order=50) -> None:
    """A panel on the customer 360 page. `context_func(request, customer) -> dict` is merged
    into the panel's template context (as `panel`)."""
    CUSTOMER_PANELS[key] = CustomerPanel(
        key, template, context_func or (lambda request, customer: {}), perm, order
    )


def customer_links() -> list[CustomerLink]:
    return list(CUSTOMER_LINKS.values())


def privacy_handlers() -> list[PrivacyHandler]:
    return [PRIVACY_HANDLERS[key] for key in sorted(PRIVACY_HANDLERS)]


def panels_for(request, customer) -> list[dict]:
    panels = []
    for panel in sorted(CUSTOMER_PANELS.values(), key=lambda p: (p.order, p.key)):
        if panel.perm and not request.user.has_perm(panel.perm):
            continue
        panels.append(
            {"key": panel.key, "template": panel.template, **panel.context(request, customer)}
        )
    return panels


def apps_without_eraser() -> list[str]:
    """Apps whose models point at Customer but that registered no erase handler: an erasure
    would leave their rows' personal data behind. Reported by the system check
    customers.W002."""
    erasing = {handler.app_label for handler in PRIVACY_HANDLERS.values() if handler.erase}
    missing = set()
    for relation in Customer._meta.related_objects:
        label = relation.related_model._meta.app_label
        if label != "customers" and label not in erasing:
            missing.add(label)
    return sorted(missing)


def unregistered_foreign_keys() -> list[str]:
    """ForeignKeys to Customer in other apps that no one registered: a merge would leave
    their rows on the merged profile. Reported by the system check customers.W001."""
    missing = []
    for relation in Customer._meta.related_objects:
        model = relation.related_model
        if model._meta.app_label == "customers" or not relation.many_to_one:
            continue
        key = (model._meta.label_lower, relation.field.name)
        if key not in CUSTOMER_LINKS:
            missing.append(f"{model._meta.label}.{relation.field.name}")
    return missing
