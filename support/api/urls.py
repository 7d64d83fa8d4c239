"""Partner API routes of support, mounted under /api/v1/."""

urlpatterns: list = []
