"""Each staff user creates and revokes their own API tokens here (superusers see everyone's).

The secret is shown once, on the page that answers the creation (not in a message, which
would travel in a cookie); only its digest is stored.
"""

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from tokens.models import ApiToken
from tokens.services import token_issue, token_revoke

EXPIRY_IN_PAST = "must be in the future"


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("name", "expires_at")

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
        return ("name", "expires_at") if obj is None else self.readonly_fields

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
            token_revoke(token=token)
        self.message_user(request, f"Revoked {len(tokens)} token(s).", messages.SUCCESS)

    @admin.display(description="token")
    def token_start(self, obj):
        return f"{obj.prefix}…"

    @admin.display(description="state")
    def state(self, obj):
        if obj.revoked_at:
            return "revoked"
        return "active" if obj.is_active() else "expired"
