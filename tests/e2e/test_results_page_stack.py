"""The results page in headless Chromium against the REAL local stack (`make api`'s local.api.api_stack).

moto's server holds the bucket (with template.yaml's CORS rule for the page's origin) and the table
(with its listing index); the page is served by the function through the local gateway; the browser
asks POST /uploads, posts the photo straight to moto's S3 across origins (moto answers the CORS
preflight from the bucket's rule), S3's event reaches the function through the queue, and the page's
GET /diagnoses/{key}?wait=20 long-poll returns the stored result. The real model (model/potato).

Needs Debian's chromium + chromium-driver; skips, saying so, where absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.conftest import POTATO_DATA, ROOT
from tests.e2e.chromium import needs_chromium
from tests.e2e.test_results_page import SCREENSHOTS, browser  # noqa: F401 - the fixture
from tests.local_stack import running_api_stack

pytestmark = needs_chromium
HOSTILE_KEY = "garden-images/<script>window.pwned=1</script><img src=x onerror=window.pwned=2>.jpg"


def real_photo() -> Any:
    """A PlantVillage potato leaf: the shared test split when it is beside the clone, else a committed one."""
    for folder in (POTATO_DATA / "Test" / "Potato___Early_blight", ROOT / "local" / "demo_photos" / "Potato___Early_blight"):
        photos = sorted(folder.glob("*.[Jj][Pp][Gg]")) if folder.is_dir() else []
        if photos:
            return photos[0]
    raise FileNotFoundError("no potato photo found")


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A stack of its own per test: after tests/e2e's autouse fixtures, so these variables win. Its names
    are the test's: moto's server runs in this process, whose state outlives the server."""
    suffix = str(abs(hash(request.node.name)) % 10**6)
    with running_api_stack(f"leaf-diagnoses-page-{suffix}", f"leaf-images-page-{suffix}", "both") as running:
        yield running


def preflight(stack: Any, origin: str) -> int:
    """What the browser asks before its XHR POST (an upload progress listener always forces a preflight)."""
    import requests

    return requests.options(f"{stack.endpoint}/{stack.bucket}", timeout=10, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"}).status_code


def test_the_bucket_lets_only_the_pages_origin_post(stack):
    # moto's server echoes any Origin in Access-Control-Allow-Origin on every answer (its blanket CORS), so
    # the browser test below would pass without a rule; its preflight is where the bucket's rule is applied.
    assert preflight(stack, stack.url) == 200
    assert preflight(stack, "http://elsewhere.example") == 403


def _wait(driver: Any, seconds: float = 90):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds)


def test_a_real_photo_goes_through_presigned_post_event_and_long_poll_and_shows_in_the_gallery(stack, browser):  # noqa: F811
    from selenium.webdriver.common.by import By

    photo = real_photo()
    s3 = boto3.client("s3")
    # A key holding markup, diagnosed through the stack like any upload: the gallery must show it as text.
    s3.put_object(Bucket=stack.bucket, Key=HOSTILE_KEY, Body=photo.read_bytes(), ContentType="image/jpeg")
    browser.get(f"{stack.url}/")
    _wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#gallery li")) >= 1
                         or b.refresh() or False)  # the seeded photo's result, once its event is handled
    browser.find_element(By.ID, "photo").send_keys(str(photo.resolve()))
    _wait(browser).until(lambda b: b.find_element(By.ID, "result").is_displayed()
                         or b.find_element(By.ID, "status").get_attribute("class") == "error")
    status = browser.find_element(By.ID, "status").text
    verdict = browser.find_element(By.CSS_SELECTOR, "#card .verdict").text
    confidence = browser.find_element(By.CSS_SELECTOR, "#card .confidence-text").text
    progress = browser.find_element(By.ID, "progress")
    loaded, total = float(progress.get_attribute("value")), float(progress.get_attribute("max"))
    _wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#gallery li")) == 2)
    tiles = [tile.text for tile in browser.find_elements(By.CSS_SELECTOR, "#gallery li")]
    alts = browser.execute_script("return [...document.querySelectorAll('#gallery img')].map(i => i.alt)")
    drawn = browser.execute_script("return [...document.querySelectorAll('#gallery img')].map(i => i.complete && i.naturalWidth > 0)")
    pwned = browser.execute_script("return window.pwned === undefined ? null : window.pwned")
    scripts = browser.execute_script("return document.scripts.length")
    SCREENSHOTS.mkdir(exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.save_screenshot(str(SCREENSHOTS / "results-page-stack.png"))
    console = [entry["message"] for entry in browser.get_log("browser")]

    assert status == "Done.", (status, console)
    assert verdict.startswith("Potato") and verdict.endswith("Early blight") and confidence.endswith("% confident")
    assert total > photo.stat().st_size and loaded == total  # progress reached the whole form
    uploads = s3.list_objects_v2(Bucket=stack.bucket, Prefix="garden-images/uploads/").get("Contents", [])
    assert [o["Size"] for o in uploads] == [photo.stat().st_size]  # the photo went straight to S3, under uploads/
    assert tiles[0].startswith(verdict) and uploads[0]["Key"].rsplit("/", 1)[1] in tiles[0]
    # The key, as text: the tile shows its last "/" part, the thumbnail's alt all of it.
    assert tiles[1].endswith("<img src=x onerror=window.pwned=2>.jpg") and alts[1] == f"Photo {HOSTILE_KEY}"
    assert drawn == [True, True]  # thumbnails from presigned GETs pass the CSP
    assert pwned is None and scripts == 1
    assert not [line for line in console if "Content Security Policy" in line or "Refused" in line], console
