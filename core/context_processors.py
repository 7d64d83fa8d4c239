from core.staff_ui import nav_for


def staff_ui(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {"staff_nav": []}
    return {"staff_nav": nav_for(user)}
