"""System check: every ForeignKey to Customer in another app is registered for merges."""

from django.core import checks

from customers.links import unregistered_foreign_keys


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
