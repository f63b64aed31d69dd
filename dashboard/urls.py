from django.urls import path

from dashboard import invoice_files, invoices, views

app_name = "dashboard"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/csv/<slug:name>.csv", views.chart_csv, name="chart_csv"),
    path("dashboard/invoices/", invoices.invoices_view, name="invoices"),
    path("dashboard/invoices.csv", invoice_files.invoices_csv, name="invoices_csv"),
    path("dashboard/invoices.xlsx", invoice_files.invoices_xlsx, name="invoices_xlsx"),
]
