from django import forms

from tokens.models import ApiToken

NOT_YOURS = "no active token of yours has this id"


class TokenRevokeForm(forms.Form):
    """``token``: the id of one of the user's active tokens, or ``all``; cleaned to a list."""

    token = forms.CharField(max_length=18)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_token(self) -> list[ApiToken]:
        value = self.cleaned_data["token"]
        tokens = ApiToken.objects.filter(user=self.user, revoked_at__isnull=True)
        if value == "all":
            return list(tokens)
        found = tokens.filter(pk=int(value)).first() if value.isdigit() else None
        if found is None:
            raise forms.ValidationError(NOT_YOURS)
        return [found]
