"""Dates and times in every page (the admin's lists, forms and history included), one way:
ISO 8601 (``2024-03-05``, ``2024-03-05 14:07``), as the dashboard and every file write them.
Django reads these before its own English formats (``FORMAT_MODULE_PATH``); input formats
stay Django's."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
TIME_FORMAT = "H:i"
YEAR_MONTH_FORMAT = "Y-m"
MONTH_DAY_FORMAT = "m-d"
