#!/usr/bin/env python
import os
import sys

NO_DJANGO = (
    "Couldn't import Django. Are you sure it's installed and available on your PYTHONPATH"
    " environment variable? Did you forget to activate a virtual environment?"
    " Run the project's own: .venv/bin/python manage.py {args} (make install creates it)"
)


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        import django  # noqa: F401
    except ImportError:
        sys.stderr.write(NO_DJANGO.format(args=" ".join(sys.argv[1:])).rstrip() + "\n")
        sys.exit(1)
    from config.cli import command_line_run

    command_line_run(sys.argv)


if __name__ == "__main__":
    main()
