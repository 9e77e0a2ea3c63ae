"""Discord interactions and inbound bot callbacks (included at the site root)."""

from django.urls import path

from integrations.bot import views as bot_views
from integrations.discord import views

urlpatterns = [
    path("discord/interactions", views.interactions, name="discord-interactions"),
    path("api/callbacks", bot_views.bot_callbacks, name="bot-callbacks"),
]
