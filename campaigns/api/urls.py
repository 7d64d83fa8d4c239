"""Partner API routes of campaigns, mounted under /api/v1/."""

urlpatterns: list = []
