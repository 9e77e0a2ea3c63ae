"""Tracking Data: the project package and the tracked things (client accounts, profiles, posts)."""

from tracking.celery import app as celery_app

__all__ = ["celery_app"]
