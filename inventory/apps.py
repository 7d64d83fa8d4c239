from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = _("Inventory")

    def ready(self):
        from catalog.availability import register_availability_provider

        from . import demo_data, staff_ui  # noqa: F401  (demo stages, nav and panels)
        from .selectors import units_for_channel

        # The catalog's feeds and pages show real stock from here on.
        register_availability_provider(units_for_channel)
