"""URL patterns (filled in as the area is built)."""

urlpatterns: list = []
