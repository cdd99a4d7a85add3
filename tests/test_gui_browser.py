"""The app in a real browser: `streamlit run` headless on localhost, every page opened in Chromium
through selenium, a screenshot of each, no error element, the page title there; and one upload
on the live page. Skips only where chromium or chromedriver is absent (Debian: apt-get install -y
chromium chromium-driver), and fails there instead when TSAD_REQUIRE_SHARED=1 (CI)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import (
    REPO,
    skip_unless_required,  # noqa: E402
)
from test_gui import build_tiny_workspace, wfdb_upload
from test_gui_records import make_detection_setup

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    skip_unless_required("chromium and chromedriver are not installed "
                         "(apt-get install -y chromium chromium-driver)")

from selenium import webdriver  # noqa: E402  (a test dependency in requirement.txt)
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

# (url path, browser title, text that appears once the page has finished running)
PAGES = [("", "ECG beat detection with a distilled student · tsad", "Predicted beats"),
         ("Teacher", "Teacher · tsad", "Predicted beats"),
         ("Student", "Student · tsad", "Run live on this window"),
         ("Compare", "Compare the models · tsad", "Loss curves"),
         ("Live", "Live: your own recording · tsad", "Upload a WFDB record"),
         ("Records", "Whole records · tsad", "Every record of this model")]
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1400,1800")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ws = build_tiny_workspace(tmp_path_factory.getbasetemp() / "gui_ws")
    # detection folders for the Records page (the other pages ignore them)
    make_detection_setup(tmp_path_factory.getbasetemp() / "browser_records", ws.root)
    port = free_port()
    env = {**os.environ, "TSAD_WORKSPACE": str(ws.root), "OMP_NUM_THREADS": "1"}
    log = (tmp_path_factory.getbasetemp() / "streamlit.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "0_Homepage.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port),
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=REPO / "Codes" / "GUI", env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                ready = answer.status == 200
        except OSError:  # not listening yet
            ready = False
        if ready:
            break
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"streamlit did not start; see {log.name}")
        time.sleep(0.5)
    yield url, ws
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER), options=options)
    except WebDriverException as err:
        pytest.fail(f"chromium is installed but did not start: {err.msg}")
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_until_done(driver, marker: str, timeout: float = 60) -> None:
    """Until the marker text is on the page and the app has stopped running for a moment."""
    deadline = time.time() + timeout
    quiet_since = None
    while time.time() < deadline:
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        body = driver.find_element(By.TAG_NAME, "body").text
        if marker in body and not running:
            quiet_since = quiet_since or time.time()
            if time.time() - quiet_since > 1.0:
                return
        else:
            quiet_since = None
        time.sleep(0.25)
    raise AssertionError(f"page did not finish: {marker!r} not shown within {timeout} s")


def assert_clean(driver, title: str) -> None:
    errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    assert not errors, errors[0].text
    assert driver.title == title
    assert driver.find_element(By.TAG_NAME, "h1").text.startswith(title.split(" · ")[0])


@pytest.mark.parametrize("path, title, marker", PAGES, ids=[p[0] or "Home" for p in PAGES])
def test_page_in_chromium(server, browser, tmp_path, path, title, marker):
    url, _ = server
    browser.get(f"{url}/{path}")
    wait_until_done(browser, marker)
    assert_clean(browser, title)
    shot = tmp_path / f"{path or 'Home'}.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_live_upload_in_chromium(server, browser, tmp_path):
    url, _ = server
    files, _, beats = wfdb_upload(tmp_path)
    for name, data, _ in files:
        (tmp_path / name).write_bytes(data)
    browser.get(f"{url}/Live")
    wait_until_done(browser, "Upload a WFDB record")
    browser.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(
        "\n".join(str(tmp_path / name) for name, _, _ in files))
    # the page opens on the shipped model (pretrained/), whatever the workspace holds
    wait_until_done(browser, "Scores on the whole upload (150 ms, beat by beat)")
    assert_clean(browser, "Live: your own recording · tsad")
    assert f"{len(beats)} annotated beats" in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')
    browser.save_screenshot(str(tmp_path / "Live_upload.png"))


def test_records_page_jumps_to_the_next_error_in_chromium(server, browser, tmp_path):
    url, _ = server
    browser.get(f"{url}/Records")
    wait_until_done(browser, "Every record of this model")
    model = next(box for box in browser.find_elements(By.CSS_SELECTOR, '[data-testid="stSelectbox"]')
                 if box.text.startswith("Model (detection folder)"))
    model.find_element(By.CSS_SELECTOR, 'input[role="combobox"]').click()
    option = next(o for o in browser.find_elements(By.CSS_SELECTOR, '[role="option"]') if o.text == "xqrs")
    option.click()
    wait_until_done(browser, "2 error(s) in the record")
    assert "demo00: 0–10 s" in browser.find_element(By.TAG_NAME, "body").text
    next(b for b in browser.find_elements(By.TAG_NAME, "button") if "next error" in b.text).click()
    wait_until_done(browser, "demo00: 2–12 s")   # the first false detection of xqrs, at 3.98 s
    assert_clean(browser, "Whole records · tsad")
    assert browser.find_elements(By.CSS_SELECTOR, '[data-testid="stImage"] img')
    browser.save_screenshot(str(tmp_path / "Records_error.png"))
