"""The docs page in headless Chromium: upload the real photo through Swagger UI and see the JSON result.

Needs Debian's `chromium` and `chromium-driver` packages (apt-get install chromium chromium-driver);
skips, saying so, where they are absent. Nothing is downloaded: the page inlines Swagger UI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.api import serve
from model.synthetic import LABELS
from tests.conftest import REAL_PHOTO
from tests.e2e.chromium import chromium, needs_chromium

OPERATION = "#operations-diagnosis-seed_prediction_Diagnosis_prediction_post"

pytestmark = needs_chromium


@pytest.fixture
def browser(tmp_path):
    yield from chromium(tmp_path / "profile", 1280, 1600, console=False)


def test_uploading_the_real_photo_on_the_docs_page_shows_the_diagnosis(app, browser, real_photo, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 60)
    with serve(app.lambda_handler) as url:
        browser.get(f"{url}/docs")
        operation = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, f"{OPERATION} .opblock-summary")))
        operation.click()
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, f"{OPERATION} button.try-out__btn"))).click()
        upload = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"{OPERATION} input[type=file]")))
        upload.send_keys(str(Path(REAL_PHOTO).resolve()))
        browser.find_element(By.CSS_SELECTOR, f"{OPERATION} button.execute").click()
        body = wait.until(
            ready.visibility_of_element_located((By.CSS_SELECTOR, f"{OPERATION} .live-responses-table tbody .response-col_description pre"))
        )
        status = browser.find_element(By.CSS_SELECTOR, f"{OPERATION} .live-responses-table tbody .response-col_status").text
        result = json.loads(body.text)
        browser.execute_script("arguments[0].scrollIntoView()", body)
        screenshot = tmp_path / "docs-upload.png"
        browser.save_screenshot(str(screenshot))
    print(f"screenshot: {screenshot}")
    assert status.strip() == "200"
    assert result["label"] in LABELS and 0 < result["confidence"] <= 1
    assert screenshot.stat().st_size > 10_000
