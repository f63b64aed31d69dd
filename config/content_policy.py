"""The Content-Security-Policy every answer carries (``SECURE_CSP``, Django's CSP middleware)."""

import base64
import hashlib

from django.utils.csp import CSP

# Content-Security-Policy on every answer: everything from this host, scripts and style
# sheets only from its static files (or with the page's nonce), nothing framed, no form
# posted elsewhere. Style attributes are allowed (the admin's status badges and progress
# bars, Plotly's SVG); Plotly writes its rules into an empty <style> it creates. One
# inline event handler is allowed by its hash: django-import-export's export "Select all".
_SELECT_ALL_HASH = base64.b64encode(hashlib.sha256(b"onSelectToggleChange(event)").digest()).decode()
# An empty <style> element, which Plotly creates and then fills through the CSSOM: allowed by
# the hash of its (empty) text, so the dashboard needs no nonce and a page revalidated by its
# ETag (a 304 carries a new policy) keeps its chart styles.
_EMPTY_STYLE_HASH = base64.b64encode(hashlib.sha256(b"").digest()).decode()
CONTENT_SECURITY_POLICY = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "script-src-attr": [CSP.UNSAFE_HASHES, f"'sha256-{_SELECT_ALL_HASH}'"],
    "style-src": [CSP.SELF, CSP.NONCE, f"'sha256-{_EMPTY_STYLE_HASH}'"],
    "style-src-attr": [CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
