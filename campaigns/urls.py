"""Staff pages of campaigns."""

app_name = "campaigns"
urlpatterns: list = []
