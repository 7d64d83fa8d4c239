"""Partner API routes of support, mounted under /api/v1/."""

from django.urls import path

from support import views_widget
from support.api import reviews, views

urlpatterns = [
    path("inbound/<slug:kind>", views.InboundWebhookView.as_view(), name="api-support-inbound"),
    path(
        "support/conversations",
        views.ConversationListView.as_view(),
        name="api-support-conversations",
    ),
    path(
        "support/conversations/<int:pk>",
        views.ConversationDetailView.as_view(),
        name="api-support-conversation",
    ),
    path(
        "support/conversations/<int:pk>/messages",
        views.MessageListView.as_view(),
        name="api-support-messages",
    ),
    path(
        "support/conversations/<int:pk>/reply", views.ReplyView.as_view(), name="api-support-reply"
    ),
    path("support/conversations/<int:pk>/notes", views.NoteView.as_view(), name="api-support-note"),
    path(
        "support/conversations/<int:pk>/assign",
        views.AssignView.as_view(),
        name="api-support-assign",
    ),
    path(
        "support/conversations/<int:pk>/status",
        views.StatusView.as_view(),
        name="api-support-status",
    ),
    path(
        "support/conversations/<int:pk>/merge",
        views.MergeView.as_view(),
        name="api-support-merge",
    ),
    # The shop's chat widget (public; the visitor token authenticates).
    path(
        "webchat/session",
        views_widget.WebchatSessionView.as_view(),
        name="api-webchat-session",
    ),
    path(
        "webchat/messages",
        views_widget.WebchatMessagesView.as_view(),
        name="api-webchat-messages",
    ),
    path(
        "webchat/events",
        views_widget.WebchatEventsView.as_view(),
        name="api-webchat-events",
    ),
    path("support/contacts", views.ContactLogView.as_view(), name="api-support-contacts"),
    # Reviews: support owns them; a product's list sits under catalog's product path.
    path(
        "products/<int:pk>/reviews",
        reviews.ProductReviewListView.as_view(),
        name="api-product-reviews",
    ),
    path(
        "reviews/<slug:code>/google.xml",
        reviews.GoogleReviewsFeedView.as_view(),
        name="api-reviews-google-feed",
    ),
]
