"""/payout: a creator's payout method is validated, encrypted at rest and shown only masked."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from core.tenancy import guild_scope
from earnings.models import PayoutMethod
from earnings.payout_methods import PayoutMethodRefused, reveal, set_payout_method
from tests.factories import make_creator

pytestmark = pytest.mark.django_db

KEY = Fernet.generate_key().decode()


def _set(guild, creator, kind, address):
    with guild_scope(guild.pk):
        return set_payout_method(guild_id=guild.pk, creator=creator, kind=kind, address=address)


def test_paypal_email_is_encrypted_and_masked(guild, settings, bypass):
    settings.PAYOUT_ENCRYPTION_KEY = KEY
    creator = make_creator(guild)
    method = _set(guild, creator, "paypal", " maya.clips@example.com ")
    assert method.masked == "ma***@example.com"
    with bypass():
        stored = PayoutMethod.objects.get(creator=creator)
    assert "maya.clips" not in stored.encrypted
    assert reveal(stored) == "maya.clips@example.com"
    replaced = _set(guild, creator, "wallet", "0x52908400098527886E0F7030069857D2E4169EE7")
    assert replaced.masked == "0x52…9EE7"
    with bypass():
        assert PayoutMethod.objects.filter(creator=creator).count() == 1


@pytest.mark.parametrize(
    ("kind", "address", "message"),
    [
        ("paypal", "not-an-email", "That is not an email address PayPal could pay."),
        ("wallet", "short", "A wallet address is 26 to 120 letters and digits."),
        ("bank", "x", "Choose PayPal or a wallet."),
    ],
)
def test_bad_methods_are_refused(guild, settings, bypass, kind, address, message):
    settings.PAYOUT_ENCRYPTION_KEY = KEY
    with pytest.raises(PayoutMethodRefused, match=message):
        _set(guild, make_creator(guild), kind, address)
    with bypass():
        assert not PayoutMethod.objects.exists()


def test_without_a_key_nothing_is_stored(guild, settings):
    settings.PAYOUT_ENCRYPTION_KEY = ""
    with pytest.raises(PayoutMethodRefused, match="not set up on this server yet"):
        _set(guild, make_creator(guild), "paypal", "a@example.com")
