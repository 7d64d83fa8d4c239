"""Rate limits: per API key (its own rate, or the default), per staff user for sessions.

The counts live in the shared cache. When it cannot be reached the limit fails open: the
request goes through, and the fallback is logged and counted (core.services.shared_cache), so
a cache outage slows nobody down and is still visible."""

from rest_framework.throttling import SimpleRateThrottle

from core.api.authentication import ApiClient
from core.services import shared_cache


class ApiClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def allow_request(self, request, view):
        user = request.user
        if isinstance(user, ApiClient) and user.api_key.rate:
            self.rate = user.api_key.rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        try:
            return super().allow_request(request, view)
        except shared_cache.CACHE_ERRORS as error:
            shared_cache.unavailable("rate limit", error)
            return True

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            ident = f"key:{user.api_key.prefix}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
