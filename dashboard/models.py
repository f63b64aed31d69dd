"""The dashboard has no tables of its own; this model only carries its permission."""

from django.db import models


class Sales(models.Model):
    """No table (unmanaged, never queried): ``dashboard.view_sales`` lets a user read the
    sales figures (the dashboard, its chart CSVs and ``/api/sells/*``); see
    ``api.permissions``."""

    class Meta:
        managed = False
        db_table = "dashboard_sales"
        default_permissions = ()
        permissions = [("view_sales", "Can view sales figures (dashboard, chart CSVs, sales API)")]

    def __str__(self):
        return "sales figures"
