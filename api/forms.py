"""Parameter forms the API's routers share (each app's own filters stay in its app)."""

from django import forms


class LimitForm(forms.Form):
    limit = forms.IntegerField(required=False, min_value=1, max_value=500)

    def first_error(self) -> str:
        name, messages = next(iter(self.errors.items()))
        return f"{name}: {messages[0]}"
