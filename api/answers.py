"""JSON answers of the API: money as a string with two decimals, text as UTF-8 (not escaped)."""

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse


class MoneyEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, Decimal):
            return f"{o:.2f}"
        return super().default(o)


def json_answer(payload, status=200, **kwargs) -> JsonResponse:
    return JsonResponse(
        payload, status=status, encoder=MoneyEncoder, json_dumps_params={"ensure_ascii": False}, **kwargs
    )
