"""Staff pages of customers."""

app_name = "customers"
urlpatterns: list = []
