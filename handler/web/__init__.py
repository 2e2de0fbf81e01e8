"""The results page at `/`: one HTML document, its script and style inlined, and its headers (a strict CSP).

Inlined, not served as app.js / style.css: relative asset URLs break when the page is opened as
`/Prod` (no slash) behind a stage, and one route serves it everywhere. The CSP allows exactly those
two inline blocks by hash, and the bucket's origin for the presigned POST and the thumbnails.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from pathlib import Path

PAGE_DIR = Path(__file__).resolve().parent
_SCRIPT_TAG = '<script src="app.js"></script>'
_STYLE_TAG = '<link rel="stylesheet" href="style.css">'
# An origin and nothing more: no path, quote, space or semicolon can reach the header.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _sources() -> tuple[str, str, str]:
    html, script, style = ((PAGE_DIR / name).read_text(encoding="utf-8") for name in ("index.html", "app.js", "style.css"))
    return html, script, style


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


@lru_cache(maxsize=1)
def _page() -> tuple[str, str, str]:
    html, script, style = _sources()
    if "</script" in script.lower() or "</style" in style.lower():
        raise ValueError("app.js or style.css closes its own tag: it cannot be inlined")
    if _SCRIPT_TAG not in html or _STYLE_TAG not in html:
        raise ValueError("index.html lost the app.js / style.css tags the page inlines")
    body = html.replace(_STYLE_TAG, f"<style>{style}</style>").replace(_SCRIPT_TAG, f"<script>{script}</script>")
    return body, _sha256(script), _sha256(style)


def page_body() -> str:
    """The page's HTML, script and style inlined."""
    return _page()[0]


def page_headers(bucket_origin: str | None = None) -> dict[str, str]:
    """Headers for the page; `bucket_origin` (scheme://host[:port]) is where the browser posts photos and reads thumbnails."""
    _, script_hash, style_hash = _page()
    extra = ""
    if bucket_origin:
        if not _ORIGIN.fullmatch(bucket_origin):
            raise ValueError(f"not an origin (scheme://host[:port]): {bucket_origin[:100]!r}")
        extra = f" {bucket_origin}"
    policy = "; ".join([
        "default-src 'self'",
        f"script-src {script_hash}",
        f"style-src {style_hash}",
        f"connect-src 'self'{extra}",
        f"img-src 'self' blob:{extra}",  # blob: the chosen photo, shown from memory
        f"form-action 'self'{extra}",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
