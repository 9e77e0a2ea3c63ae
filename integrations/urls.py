"""Inbound Apify webhooks: metrics runs and profile-verification runs."""

from django.urls import path

from integrations import views

app_name = "webhooks"

urlpatterns = [
    path("apify", views.ApifyWebhookView.as_view(purpose="metrics", source="apify"), name="apify"),
    path("verify", views.ApifyWebhookView.as_view(purpose="verification", source="verify"), name="verify"),
]
