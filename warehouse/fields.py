from django.db import models


class BusinessKeyField(models.CharField):
    """A case-sensitive key: ``INV-1`` and ``inv-1`` are different on every database.

    MySQL/MariaDB compare text case-insensitively by default, so the column gets a
    binary collation there; SQLite already compares bytes.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "mysql":
            params["collation"] = "utf8mb4_bin"
        return params
