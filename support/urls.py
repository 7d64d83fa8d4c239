"""Staff pages of support."""

app_name = "support"
urlpatterns: list = []
