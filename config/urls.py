from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.api import api
from config.health import HealthView
from config.login_throttle import lockout_admin_register
from dashboard.views import favicon

lockout_admin_register(admin.site)
handler400 = "config.request_limits.bad_request"  # a body stopped past its limit: 413
handler404 = "config.middleware.not_found"  # JSON under /api/
handler500 = "config.middleware.server_error"  # JSON under /api/, with the request id

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="dashboard:dashboard", permanent=False)),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("visualization/", include("dashboard.urls")),
    path("api/", api.urls),
    path("account/", include("tokens.urls")),
    path("health/", HealthView.as_view(), name="health"),
]
