"""Staff pages of support: the inbox, the conversation and its actions, the reports."""

from django.urls import path

from support import views, views_live, views_reviews, views_widget

app_name = "support"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("reports/", views.reports_view, name="reports"),
    path("events", views_live.events, name="events"),
    path("pane", views_live.inbox_pane, name="pane"),
    path("c/<int:pk>/", views.conversation_view, name="conversation"),
    path("c/<int:pk>/reply", views.reply_view, name="reply"),
    path("c/<int:pk>/reply-template", views.template_reply_view, name="reply-template"),
    path("c/<int:pk>/assign-me", views.assign_me, name="assign-me"),
    path("c/<int:pk>/assign", views.assign_view, name="assign"),
    path("c/<int:pk>/status", views.status_view, name="status"),
    path("c/<int:pk>/priority", views.priority_view, name="priority"),
    path("c/<int:pk>/tags", views.tags_view, name="tags"),
    path("c/<int:pk>/order", views.order_view, name="order"),
    path("c/<int:pk>/after-sales", views.after_sales_view, name="after-sales"),
    path("c/<int:pk>/log", views.log_contact_view, name="log-contact"),
    path("c/<int:pk>/merge", views.merge_view, name="merge"),
    path("c/<int:pk>/split", views.split_view, name="split"),
    path("c/<int:pk>/typing", views_live.typing_view, name="typing"),
    # The shop's chat widget: public, for a script tag on the shop's pages.
    path("widget/chat.js", views_widget.script, name="widget-script"),
    path("widget/chat.css", views_widget.stylesheet, name="widget-stylesheet"),
    path("widget/demo", views_widget.demo_shop, name="widget-demo"),
    # Product reviews: the customer's page behind the signed link (public), staff moderation.
    path("reviews/", views_reviews.moderation, name="reviews"),
    path("reviews/<int:pk>/moderate", views_reviews.moderate, name="review-moderate"),
    path("reviews/<int:pk>/photo", views_reviews.photo, name="review-photo"),
    path("reviews/r/<str:token>/", views_reviews.review_form, name="review-form"),
    path(
        "messages/<int:pk>/files/<int:index>",
        views_widget.attachment,
        name="message-attachment",
    ),
]
