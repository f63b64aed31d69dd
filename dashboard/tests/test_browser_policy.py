"""Every page in a real Chromium under the Content-Security-Policy: no violation reported, and
nothing on it (link, script, stylesheet, image, frame, form target) points off the host."""

from __future__ import annotations

import pytest

from tokens.services import token_create
from warehouse.models import RejectedInvoice

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Recorded from the first script that runs (Playwright's init scripts are not subject to CSP).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""

# Every URL a page names, resolved against the page (href, src, srcset, action, xlink:href).
OFF_HOST = """
() => {
  const urls = [];
  for (const el of document.querySelectorAll("[href], [src], [srcset], form, [*|href]")) {
    for (const name of ["href", "src", "action", "xlink:href"]) {
      const value = el.getAttribute(name);
      if (value !== null) urls.push(value);
    }
    if (el.tagName === "FORM" && !el.hasAttribute("action")) urls.push(location.href);
    for (const part of (el.getAttribute("srcset") || "").split(",")) {
      if (part.trim()) urls.push(part.trim().split(/\\s+/)[0]);
    }
  }
  return urls.map((value) => new URL(value, document.baseURI))
    .filter((url) => url.origin !== location.origin && !["data:", "blob:"].includes(url.protocol))
    .map((url) => url.href);
}
"""

# Functions, not expressions: Playwright polls an expression with eval(), which the policy refuses.
CHARTS_DRAWN = (
    "() => document.querySelectorAll('.chart').length > 0 && "
    "document.querySelectorAll('.js-plotly-plot').length === document.querySelectorAll('.chart').length"
)


def visit(page, url: str, ready: str | None = None) -> dict:
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")
    if ready:
        page.wait_for_function(ready)
    return {
        "policy": response.headers.get("content-security-policy", ""),
        "violations": page.evaluate("window.__violations"),
        "off_host": page.evaluate(OFF_HOST),
    }


def watched(watched_page, *, logged_in: bool = True):
    opened = watched_page(viewport={"width": 1366, "height": 900})
    if not logged_in:
        opened.context.clear_cookies()
    opened.context.add_init_script(LISTEN)
    return opened


def test_every_page_renders_under_its_policy_with_nothing_off_the_host(
    seeded_warehouse, watched_page, live_server, django_user_model
):
    admin = django_user_model.objects.get(username="admin")
    token_create(user=admin, name="<b>nightly</b> export")
    rejected = RejectedInvoice.objects.filter(batch=seeded_warehouse).first()
    assert rejected is not None
    base = live_server.url
    pages = {
        "dashboard": ("/visualization/dashboard/", CHARTS_DRAWN),
        "admin index": ("/admin/", None),
        "batch list": ("/admin/warehouse/loadbatch/", None),
        "batch page": (f"/admin/warehouse/loadbatch/{seeded_warehouse.pk}/change/", None),
        "upload page": ("/admin/warehouse/loadbatch/upload/", None),
        "rejected rows": ("/admin/warehouse/rejectedinvoice/", None),
        "rejected row": (f"/admin/warehouse/rejectedinvoice/{rejected.pk}/change/", None),
        "customer import": ("/admin/warehouse/customer/import/", None),
        "customer export": ("/admin/warehouse/customer/export/", None),
        "customer form": ("/admin/warehouse/customer/add/", None),
        "new token": ("/admin/tokens/apitoken/add/", None),
        "user list": ("/admin/auth/user/", None),
        "API docs": ("/api/docs/", "() => document.querySelectorAll('.opblock').length > 0"),
        "own tokens": ("/account/tokens/", None),
    }
    context, page, requests, errors = watched(watched_page)
    seen = {name: visit(page, base + url, ready) for name, (url, ready) in pages.items()}

    page.goto(base + "/visualization/dashboard/")
    page.wait_for_function(CHARTS_DRAWN)
    titles = set(page.eval_on_selector_all(".modebar-btn", "els => els.map((e) => e.dataset.title)"))
    plotly_rules = page.evaluate("document.getElementById('plotly.js-style-global').sheet.cssRules.length")
    page.goto(base + "/admin/warehouse/customer/export/")  # its inline handler is allowed by hash
    page.click("input.select-toggle")
    ticked = page.eval_on_selector_all(
        ".selectable-field-export-row input[type=checkbox]", "boxes => boxes.filter((b) => b.checked).length"
    )
    context.close()

    anonymous_context, anonymous, anonymous_requests, anonymous_errors = watched(
        watched_page, logged_in=False
    )
    for name, url in (("admin login", "/admin/login/"), ("account login", "/account/login/")):
        seen[name] = visit(anonymous, base + url)
    anonymous_context.close()

    assert {
        name: found["policy"] for name, found in seen.items() if "script-src 'self'" not in found["policy"]
    } == {}
    assert {name: found["violations"] for name, found in seen.items() if found["violations"]} == {}
    assert {name: found["off_host"] for name, found in seen.items() if found["off_host"]} == {}
    assert [e for e in errors + anonymous_errors if "Refused" in e or "Content Security Policy" in e] == []
    assert errors + anonymous_errors == []
    assert [
        url for url in requests + anonymous_requests if not url.startswith((base, "data:", "blob:"))
    ] == []
    assert "Download plot as a PNG" in titles and {"Reset axes", "Autoscale"} & titles, titles
    assert not {title for title in titles if "Share" in title or "Cloud" in title or "Studio" in title}
    assert ticked == 0  # "Select all" unticked every field
    assert plotly_rules > 10  # Plotly's own styles were written into its sheet
