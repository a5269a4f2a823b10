#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recovery.settings")
    # On a developer's machine management commands run on the embedded defaults. Production
    # images set DEBUG=false explicitly (Dockerfile, docker-compose.yml), where the settings then
    # refuse a default secret; the WSGI entry point never gets this default.
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
