"""Rebuild the dashboard's aggregate tables from fact_invoices (all days, or some)."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from warehouse.aggregates import daily_sales_refresh
from warehouse.locks import FactsLockTimeout


class Command(BaseCommand):
    help = "Recompute agg_daily_sales / agg_monthly_sales from fact_invoices."

    def add_arguments(self, parser):
        parser.add_argument(
            "--day", action="append", default=[], help="YYYY-MM-DD; repeatable (default: all days)"
        )

    def handle(self, *args, day, **options):
        try:
            days = [dt.date.fromisoformat(d) for d in day] or None
        except ValueError as exc:
            raise CommandError(f"--day: {exc}") from exc
        try:
            written = daily_sales_refresh(days=days)
        except FactsLockTimeout as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"agg_daily_sales: {written} rows written")
