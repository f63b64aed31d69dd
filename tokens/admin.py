"""Each staff user creates and revokes their own API tokens here (superusers see everyone's).

The secret is shown once, on the page that answers the creation (not in a message, which
would travel in a cookie); only its digest is stored. Creating one asks for the password
again (checked through the login throttle), so a borrowed session cannot mint a credential.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import authenticate, get_user_model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from tokens.models import ApiToken
from tokens.services import (
    REVOKED_BY_ADMINISTRATOR,
    REVOKED_BY_USER,
    token_issue,
    token_revoke,
    token_state,
    tokens_revoke_for_user,
)

EXPIRY_IN_PAST = "must be in the future"
PASSWORD_WRONG = "your password is not correct"


class ApiTokenForm(forms.ModelForm):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Asked again: a token is a credential of its own.",
    )
    request: HttpRequest  # set by the admin for the add form (``ApiTokenAdmin.get_form``)

    class Meta:
        model = ApiToken
        fields = ("name", "expires_at")

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = self.request.user
        if authenticate(self.request, username=user.get_username(), password=password) != user:
            raise forms.ValidationError(PASSWORD_WRONG)
        return password

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value and value <= timezone.now():
            raise forms.ValidationError(EXPIRY_IN_PAST)
        return value


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenForm
    list_display = ("name", "token_start", "user", "created_at", "last_used_at", "expires_at", "state")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    readonly_fields = (
        "name",
        "token_start",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    actions = ("revoke_tokens",)

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    @staticmethod
    def _staff(request) -> bool:
        return request.user.is_active and request.user.is_staff

    def _own(self, request, obj) -> bool:
        return self._staff(request) and (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    def has_module_permission(self, request):
        return self._staff(request)

    def has_view_permission(self, request, obj=None):
        return self._own(request, obj)

    def has_add_permission(self, request):
        return self._staff(request)

    def has_change_permission(self, request, obj=None):
        return False  # a token is revoked, never edited

    def has_delete_permission(self, request, obj=None):
        return self._own(request, obj)

    def has_revoke_permission(self, request):
        return self._staff(request)

    def get_fields(self, request, obj=None):
        return ("name", "expires_at", "password") if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        obj.user = request.user
        request.api_token_secret = token_issue(token=obj)

    def response_add(self, request, obj, post_url_continue=None):
        context = {
            **self.admin_site.each_context(request),
            "title": "API token created",
            "opts": self.opts,
            "token": obj,
            "secret": request.api_token_secret,
        }
        response = TemplateResponse(request, "admin/tokens/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            token_revoke(
                token=token,
                reason=REVOKED_BY_USER if token.user_id == request.user.pk else REVOKED_BY_ADMINISTRATOR,
            )
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)

    @admin.display(description="token")
    def token_start(self, obj):
        return f"{obj.prefix}…"

    @admin.display(description="state")
    def state(self, obj):
        return token_state(token=obj)


def _users_admin_with_revoke_all(site: admin.AdminSite) -> None:
    """The user list gets "Revoke all API tokens of the selected users" (needs change_user)."""
    user_model = get_user_model()
    base = type(site.get_model_admin(user_model))

    class UserAdmin(base):  # type: ignore[valid-type, misc]
        actions = (*(base.actions or ()), "revoke_api_tokens")

        @admin.action(description="Revoke all API tokens of the selected users", permissions=["change"])
        def revoke_api_tokens(self, request, queryset):
            count = sum(
                tokens_revoke_for_user(user=user, reason=REVOKED_BY_ADMINISTRATOR) for user in queryset
            )
            self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)

    site.unregister(user_model)
    site.register(user_model, UserAdmin)


_users_admin_with_revoke_all(admin.site)
