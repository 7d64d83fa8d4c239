"""Partner API routes of customers, mounted under /api/v1/."""

urlpatterns: list = []
