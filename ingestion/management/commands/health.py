import json

from django.core.management.base import BaseCommand, CommandError

from config.health import CHECKS, health_report_sync


class Command(BaseCommand):
    requires_system_checks: list[str] = []  # a container health check runs it every 30 s
    help = (
        "Run the health checks of /health/ in this process (all, or those named) and print the"
        " report as JSON; exit 1 when one fails. The beat's container health check runs `health beat`."
    )

    def add_arguments(self, parser):
        parser.add_argument("checks", nargs="*", choices=list(CHECKS), help="Checks to run (default: all).")

    def handle(self, *args, checks, **options):
        report = health_report_sync(tuple(checks) or tuple(CHECKS))
        self.stdout.write(json.dumps(report))
        if report["status"] != "ok":
            failed = ", ".join(
                f"{name}: {c['detail']}" for name, c in report["checks"].items() if c["status"] == "fail"
            )
            raise CommandError(f"unhealthy: {failed}")
