"""Celery tasks for Discord: notifications, reports, bonuses, bot callbacks."""
