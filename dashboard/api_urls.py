from django.urls import path

from dashboard import api

app_name = "api"
urlpatterns = [
    path("sells/customers/", api.sells_customers, name="sells_customers"),
    path("sells/time/", api.sells_time, name="sells_time"),
    path("sells/kpis/", api.sells_kpis, name="sells_kpis"),
    path("sells/pending/", api.sells_pending, name="sells_pending"),
    path("sells/status/", api.sells_status, name="sells_status"),
    path("sells/items/", api.sells_items, name="sells_items"),
    path("batches/", api.batches, name="batches"),
    path("batches/<int:batch_id>/", api.batch_detail, name="batch_detail"),
]
