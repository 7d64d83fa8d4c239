"""Partner API routes of inventory, mounted under /api/v1/."""

urlpatterns: list = []
