"""Names staff give to things (channels, teams, stock locations, canned replies), one per
shipped language: a page shows the name in the reader's language, else the `name` field."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _


def validate_names(value):
    """`{"fa": "فروشگاه اینترنتی", "ar": "..."}`: shipped language codes to non-empty names."""
    if not isinstance(value, dict):
        raise ValidationError(
            _('Names per language are an object such as {"fa": "…", "ar": "…"}.'),
            code="invalid_names",
        )
    languages = {code for code, _name in settings.LANGUAGES}
    for code, name in value.items():
        if code not in languages:
            raise ValidationError(
                _("%(code)s is not a shipped language: %(languages)s."),
                code="unknown_language",
                params={"code": code, "languages": ", ".join(sorted(languages))},
            )
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise ValidationError(
                _("The %(code)s name must be text of 1 to 120 characters."),
                code="invalid_name",
                params={"code": code},
            )


def name_in_language(names, fallback, language=None):
    """The name for `language` (the active one by default), its base language's (`fa` for
    `fa-ir`), else `fallback`."""
    language = (language or translation.get_language() or "").lower()
    names = names if isinstance(names, dict) else {}
    return names.get(language) or names.get(language.split("-")[0]) or fallback


class NamedPerLanguage(models.Model):
    """A `names` field beside `name`; `display_name` is what pages show."""

    names = models.JSONField(
        _("names per language"),
        default=dict,
        blank=True,
        validators=[validate_names],
        help_text=_('The name in other languages, e.g. {"fa": "…", "ar": "…"}; else the name.'),
    )

    class Meta:
        abstract = True

    @property
    def display_name(self):
        return name_in_language(self.names, self.name)
