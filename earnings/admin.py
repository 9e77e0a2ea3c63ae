"""Admin for campaigns and money. Money rows are read-only here: they change through services
(finalize, reopen, approve, pay, void) so every change is audited and lands in the ledger."""

from __future__ import annotations

from django.contrib import admin

from core.admin_base import ReadOnlyAdmin
from earnings.models import LedgerEntry, PayoutMethod, PostFinalization, Statement
from tracking.models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "client_account", "guild", "status", "currency", "rate_per_1000", "total_budget")
    list_filter = ("status", "currency", "guild")
    search_fields = ("name", "client_account__name", "guild__name")
    autocomplete_fields = ("guild",)
    list_select_related = ("guild", "client_account")
    raw_id_fields = ("client_account",)


@admin.register(PostFinalization)
class PostFinalizationAdmin(ReadOnlyAdmin):
    list_display = ("post", "guild", "views_payable", "amount", "currency", "finalized_at", "reopened_at")
    list_filter = ("currency", "guild")


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ("creator", "campaign", "period_start", "period_end", "amount", "currency", "status")
    list_filter = ("status", "currency", "guild")
    search_fields = ("creator__username", "=payment_reference")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "creator", "kind", "amount", "currency", "statement", "reason", "actor")
    list_filter = ("kind", "currency", "guild")


@admin.register(PayoutMethod)
class PayoutMethodAdmin(ReadOnlyAdmin):
    """Masked only: the encrypted address is never shown here."""

    list_display = ("creator", "guild", "kind", "masked", "updated_at")
    fields = ("creator", "guild", "kind", "masked", "updated_at")
    list_filter = ("kind", "guild")
