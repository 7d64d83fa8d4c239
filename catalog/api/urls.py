"""Partner API routes of catalog, mounted under /api/v1/."""

urlpatterns: list = []
