#!/usr/bin/env python
"""Django's command-line utility for administrative tasks.

A setting that is missing or malformed is one line naming it (and where it is explained), not a
traceback: ImproperlyConfigured is raised when the settings are first read, before any command runs.
"""

import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracking.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        hint = "" if os.environ.get("DJANGO_DEBUG") else " (for local development: DJANGO_DEBUG=true, or `make run`)"
        print(f"Configuration error: {exc}{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
