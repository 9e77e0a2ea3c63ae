"""Creators' payout methods: validated, encrypted at rest (Fernet, key PAYOUT_ENCRYPTION_KEY from the
environment) and masked everywhere except the export for payment. The address is never logged."""

from __future__ import annotations

import re

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from earnings.models import PayoutMethod
from guilds.models import Creator

WALLET = re.compile(r"^[A-Za-z0-9:]{26,120}$")


class PayoutMethodRefused(ValueError):
    """The method cannot be stored; the message says what to fix."""


def payouts_enabled() -> bool:
    return bool(settings.PAYOUT_ENCRYPTION_KEY)


def mask(kind: str, address: str) -> str:
    """ma***@example.com for an email; the first 4 and last 4 characters of a wallet."""
    if kind == PayoutMethod.Kind.PAYPAL:
        local, _, domain = address.partition("@")
        return f"{local[:2]}***@{domain}"
    return f"{address[:4]}…{address[-4:]}"


def set_payout_method(*, guild_id: int, creator: Creator, kind: str, address: str) -> PayoutMethod:
    """Store (or replace) the creator's payout method. Raises PayoutMethodRefused for an invalid
    address, an unknown kind, or when no encryption key is configured (nothing is stored then)."""
    if not payouts_enabled():
        raise PayoutMethodRefused("Payout methods are not set up on this server yet; ask an admin.")
    address = (address or "").strip()
    if kind == PayoutMethod.Kind.PAYPAL:
        try:
            validate_email(address)
        except ValidationError:
            raise PayoutMethodRefused("That is not an email address PayPal could pay.") from None
    elif kind == PayoutMethod.Kind.WALLET:
        if not WALLET.match(address):
            raise PayoutMethodRefused("A wallet address is 26 to 120 letters and digits.")
    else:
        raise PayoutMethodRefused("Choose PayPal or a wallet.")
    token = Fernet(settings.PAYOUT_ENCRYPTION_KEY.encode()).encrypt(address.encode()).decode()
    method, _ = PayoutMethod.objects.update_or_create(
        creator=creator,
        defaults={"guild_id": guild_id, "kind": kind, "encrypted": token, "masked": mask(kind, address)},
    )
    return method


def reveal(method: PayoutMethod) -> str:
    """The address, for the export that pays (admin-only callers)."""
    return Fernet(settings.PAYOUT_ENCRYPTION_KEY.encode()).decrypt(method.encrypted.encode()).decode()
