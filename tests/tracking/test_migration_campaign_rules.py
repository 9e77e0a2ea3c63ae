"""Migration 0018 normalises existing campaigns' caption rules as the service now does, and leaves a
list the rules refuse as it was."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from core.tenancy import rls_bypass
from tests.factories import make_campaign
from tracking.models import Campaign

migration = importlib.import_module("tracking.migrations.0018_campaign_caption_rules_normalised")
pytestmark = pytest.mark.django_db


def test_existing_campaign_rules_are_normalised_and_a_refused_list_is_kept(guild):
    typed = make_campaign(guild, name="Typed")
    broken = make_campaign(guild, name="Broken")
    with rls_bypass(reason="test setup"):  # as the API stored them before the service normalised
        Campaign.objects.filter(pk=typed.pk).update(
            required_tags=["Acme", "#ACME", "@AcmeHQ"], banned_words=["Free Money", "free money"]
        )
        Campaign.objects.filter(pk=broken.pk).update(required_tags=["two words"], banned_words=["Spam"])
    migration.forwards(apps, None)
    with rls_bypass(reason="test check"):
        rules = dict(Campaign.objects.values_list("name", "required_tags"))
        words = dict(Campaign.objects.values_list("name", "banned_words"))
    assert (rules["Typed"], words["Typed"]) == (["#acme", "@acmehq"], ["Free Money"])
    assert (rules["Broken"], words["Broken"]) == (["two words"], ["Spam"])
