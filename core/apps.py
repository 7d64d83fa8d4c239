from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Core")

    def ready(self):
        # Imported for what they register: deploy checks, core's demo stage and its nav.
        from . import checks, demo_data, l10n, staff_ui  # noqa: F401
        from .roles import sync_roles_after_migrate

        # Roles are kept in step with the models after every migrate, so a model added by a
        # later app lands in the right groups without a hand-written data migration.
        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="core.sync_roles")
        # Dates in the Jalali calendar and Persian digits in Persian, money without cents in
        # rial, wherever Django or djmoney formats them (core.l10n).
        l10n.install()
        from .forms import install_admin_date_fields  # imports models: only once loaded

        install_admin_date_fields()
        # Each app's figures for /metrics (its metrics.py), after every app is loaded.
        from . import metrics

        metrics.autodiscover()
        # Request ids across tasks (its Celery signals) and, with SENTRY_DSN, error tracking.
        from . import observability

        observability.init_sentry()
        observability.init_tracing()
