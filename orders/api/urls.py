"""Partner API routes of orders, mounted under /api/v1/."""

urlpatterns: list = []
