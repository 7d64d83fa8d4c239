"""Saving a message template with its translations: one transaction, one translation per
language. The API and the staff editor both save through `save_template`."""

from django.db import transaction
from django.utils.translation import gettext as _

from campaigns.errors import InvalidTemplate
from campaigns.models import MessageTemplate, MessageTemplateTranslation


def save_template(template=None, *, fields: dict, translations=None) -> MessageTemplate:
    """Create (template=None) or update a template with `fields`; with `translations` (a list
    of {language, subject, html, text}), they replace its translations, all or nothing.

    A template has one translation per language: a second one for the same language is
    refused naming `translations.<index>.language` (InvalidTemplate, 400), and nothing is
    written, so an existing template keeps its translations. The sources themselves are
    checked by the doors (forms and serializers run the sandbox's check)."""
    if translations is not None:
        _refuse_repeated_languages(translations)
    with transaction.atomic():
        if template is None:
            template = MessageTemplate.objects.create(**fields)
        else:
            for name, value in fields.items():
                setattr(template, name, value)
            template.save()
        if translations is not None:
            template.translations.all().delete()
            MessageTemplateTranslation.objects.bulk_create(
                [MessageTemplateTranslation(template=template, **row) for row in translations]
            )
    return template


def _refuse_repeated_languages(translations) -> None:
    seen = set()
    for index, translation in enumerate(translations):
        language = translation.get("language")
        if language in seen:
            message = _("Only one translation per language: %(language)s is given twice.") % {
                "language": language
            }
            raise InvalidTemplate(message, fields={f"translations.{index}.language": [message]})
        seen.add(language)
