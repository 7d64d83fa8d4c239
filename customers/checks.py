"""System checks: every ForeignKey to Customer in another app is registered for merges, and
every app holding such rows registered an erase handler for privacy requests."""

from django.core import checks

from customers.links import apps_without_eraser, unregistered_foreign_keys


@checks.register()
def customer_links_registered(app_configs=None, **kwargs):
    return [
        checks.Warning(
            f"{name} points at customers.Customer but is not registered with "
            "customers.links.register_customer_link; a merge would leave its rows on the "
            "merged profile.",
            hint=f'In your AppConfig.ready(): register_customer_link("{name.rsplit(".", 1)[0]}", '
            f'"{name.rsplit(".", 1)[1]}")',
            id="customers.W001",
        )
        for name in unregistered_foreign_keys()
    ]


@checks.register()
def customer_erasers_registered(app_configs=None, **kwargs):
    return [
        checks.Warning(
            f"The {label} app keeps rows that point at customers.Customer but registered no "
            "erase handler; erasing a customer would leave its personal data behind.",
            hint=f'In {label}\'s AppConfig.ready(): register_privacy_handler("{label}", '
            "export=..., erase=...)",
            id="customers.W002",
        )
        for label in apps_without_eraser()
    ]
