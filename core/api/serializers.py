"""Serializer building blocks shared by every app's API."""

from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse fields the serializer does not know, naming them, instead of silently
    dropping them: a partner who misspells `quantity` learns it at once."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            known = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - known)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    pass
