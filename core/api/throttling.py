"""Rate limits: per API key (its own rate, or the default), per staff user for sessions."""

from rest_framework.throttling import SimpleRateThrottle

from core.api.authentication import ApiClient


class ApiClientRateThrottle(SimpleRateThrottle):
    scope = "api_client"

    def allow_request(self, request, view):
        user = request.user
        if isinstance(user, ApiClient) and user.api_key.rate:
            self.rate = user.api_key.rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            ident = f"key:{user.api_key.prefix}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
