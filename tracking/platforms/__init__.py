"""The social platforms we track: one ``PlatformSpec`` per platform (``tiktok.py``, ...), kept in
``registry``, which every surface reads.

Adding a platform: write its spec module beside these, register its ``SPEC`` below, add its item
fixtures and tests (tests/tracking/test_platform_registry.py names what every platform must have).

``Platform`` names the built-in platforms for code that means one of them (``Platform.YOUTUBE``).
Code that lists or loops over platforms reads ``registry`` instead, so it also sees platforms
registered later.
"""

from django.db import models

from tracking.platforms import facebook, instagram, registry, tiktok, x, youtube

for _spec in (tiktok.SPEC, instagram.SPEC, youtube.SPEC, x.SPEC, facebook.SPEC):
    registry.register(_spec)

Platform = models.TextChoices("Platform", [(spec.key.upper(), (spec.key, spec.label)) for spec in registry.all_specs()])

__all__ = ["Platform", "registry"]
