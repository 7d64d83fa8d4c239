"""Who may call an endpoint: a key holding the view's scope, or an active staff user holding
the view's `staff_permissions` for the method (none named: only scope-free endpoints)."""

from rest_framework import permissions

from core.api.authentication import ApiClient

READ_METHODS = ("GET", "HEAD", "OPTIONS")


def required_scope(view, method):
    """A view names its area (`scope_area = "catalog"`) or exact scopes per method
    (`required_scopes = {"POST": "customers:write"}`); reads need `<area>:read`, writes
    `<area>:write`."""
    explicit = getattr(view, "required_scopes", {}) or {}
    if method in explicit:
        return explicit[method]
    area = getattr(view, "scope_area", None)
    if area is None:
        return None
    return f"{area}:read" if method in READ_METHODS else f"{area}:write"


class HasScope(permissions.BasePermission):
    message = "This API key lacks the scope this endpoint needs."

    def has_permission(self, request, view):
        user = request.user
        if isinstance(user, ApiClient):
            scope = required_scope(view, request.method)
            if scope is None:
                return True
            if user.api_key.has_scope(scope):
                return True
            self.message = f"This API key lacks the scope {scope}."
            return False
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        # Staff with a session act through their Django permissions, as in the admin.
        perms = getattr(view, "staff_permissions", {}) or {}
        needed = perms.get("read" if request.method in READ_METHODS else "write")
        if needed is None:
            # Fail closed: what a key needs a scope for, staff need a named permission for.
            return required_scope(view, request.method) is None
        return user.has_perm(needed)
