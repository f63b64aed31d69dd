"""The date presets and the range the data covers, as links over the page's GET parameters.

Both are anchored to the data (its first and last day with sales, from the aggregate), so
they lead to figures whatever today's date: see ``dashboard.periods.data_presets``.
"""

from __future__ import annotations

from django.http import QueryDict

from dashboard.forms import preset_links
from dashboard.periods import data_presets, dates_text
from warehouse.selectors.periods import sales_days


def data_range_links(query: QueryDict) -> dict:
    """``presets`` (links) and ``data_range``: the days with sales, as text and as a link
    (the other filters kept); both empty when there are no sales."""
    days = sales_days()
    if days is None:
        return {"presets": [], "data_range": None}
    first, last = days
    covered = query.copy()
    covered.setlist("start", [first.isoformat()])
    covered.setlist("end", [last.isoformat()])
    return {
        "presets": preset_links(query, data_presets(last)),
        "data_range": {"text": dates_text(first, last), "query": covered.urlencode()},
    }
