"""The signed-in user's own tokens, outside the admin: any user who can sign in (staff or
not, e.g. one who lost admin access) lists their tokens and revokes them here."""

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods

from tokens.forms import TokenRevokeForm
from tokens.models import ApiToken
from tokens.services import REVOKED_BY_USER, token_revoke, token_state

LOGIN_URL = "account:login"


class AccountLoginView(auth_views.LoginView):
    """The admin's login page, for every active user (staff or not); throttled like it."""

    template_name = "admin/login.html"
    redirect_authenticated_user = True
    next_page = "account:tokens"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        return {**admin.site.each_context(self.request), **context, "app_path": self.request.get_full_path()}


@login_required(login_url=LOGIN_URL)
@require_http_methods(["GET", "POST"])
def account_tokens(request):
    form = TokenRevokeForm(request.POST if request.method == "POST" else None, user=request.user)
    if request.method == "POST" and form.is_valid():
        revoked = [token_revoke(token=token, reason=REVOKED_BY_USER) for token in form.cleaned_data["token"]]
        messages.success(request, f"Revoked {len(revoked)} token(s).")
        return redirect("account:tokens")
    tokens = ApiToken.objects.filter(user=request.user).select_related("user")
    context = {
        **admin.site.each_context(request),
        "title": "Your API tokens",
        "form": form,
        "tokens": [(token, token_state(token=token)) for token in tokens],
    }
    return TemplateResponse(
        request, "tokens/account_tokens.html", context, status=400 if form.errors else 200
    )
