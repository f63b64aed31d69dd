from django.contrib.auth import views as auth_views
from django.urls import path

from tokens import views

app_name = "account"
urlpatterns = [
    path("login/", views.AccountLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page=views.LOGIN_URL), name="logout"),
    path("tokens/", views.account_tokens, name="tokens"),
]
