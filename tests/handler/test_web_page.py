"""The results page's body and headers: one document, inline code allowed by hash only, the bucket's origin pinned."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from handler.web import page_body, page_headers


def test_the_page_headers_pin_the_bucket_origin_and_refuse_anything_else():
    headers = page_headers("https://leaf-images.s3.amazonaws.com")
    policy = headers["Content-Security-Policy"]
    for directive in ("connect-src 'self' https://leaf-images.s3.amazonaws.com",
                      "img-src 'self' blob: https://leaf-images.s3.amazonaws.com",
                      "form-action 'self' https://leaf-images.s3.amazonaws.com", "default-src 'self'", "object-src 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for bad in ("https://x.example; script-src *", "https://x.example/path", "javascript:alert(1)", "https://a b"):
        with pytest.raises(ValueError):
            page_headers(bad)
    assert "<script>" in page_body() and 'src="app.js"' not in page_body()


def test_the_inline_script_and_style_are_exactly_what_the_policy_hashes():
    policy = page_headers()["Content-Security-Policy"]
    body = page_body()
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        (inline,) = re.findall(rf"<{tag}>(.*?)</{tag}>", body, flags=re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(inline.encode("utf-8")).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


def test_the_page_builds_the_dom_from_text_never_from_html():
    body = page_body()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in body
