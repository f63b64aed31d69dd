import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the 'admin' superuser with a generated password, printed once."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin", help="Account name (default: admin).")

    def handle(self, *args, username, **options):
        users = get_user_model()
        if users.objects.filter(username=username).exists():
            self.stdout.write(f"Admin account '{username}' already exists (password unchanged).")
            return
        password = secrets.token_urlsafe(12)
        users.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(
            self.style.SUCCESS(f"Admin account created: {username} / {password}  (shown only once)")
        )
