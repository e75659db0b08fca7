#!/usr/bin/env python3
"""The access review page in a real browser (headless Chromium, Debian's chromium-driver).

Run by Tests/RollcallDaemonTests/ReviewPageTests.swift against a running `rollcall serve`:

    review_page.py BASE_URL REVIEWER_LINK OTHER_REVIEWER_LINK ADMIN_LINK SCREENSHOT_DIR

A reviewer signs in, sees only their items, filters, revokes two and keeps one in bulk; a forged
form without the CSRF token, and a decision on another reviewer's item, are refused; the other
reviewer sees only theirs; the admin page shows the progress. Prints one JSON line of what it saw.
"""
import json
import sys
import urllib.request
import urllib.error
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

base, reviewer_link, other_link, admin_link, shots = sys.argv[1:6]
seen = {}


driver = None


def check(condition, message):
    if not condition:
        page = ""
        try:
            page = "\n" + driver.current_url + "\n" + driver.page_source[:3000]
        except Exception:
            pass
        raise SystemExit("FAILED: " + message + page)


def wait_for(condition, message):
    """Waits (up to 10 s) for the page a click loads."""
    try:
        WebDriverWait(driver, 10).until(lambda d: condition())
    except Exception:
        check(False, message)


def browser():
    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def post(path, fields, cookie):
    """A form sent from outside the page (a forged request), with the reviewer's session cookie."""
    body = urllib.parse.urlencode(fields, doseq=True).encode()
    request = urllib.request.Request(base + path, data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def get(path, cookie):
    request = urllib.request.Request(base + path, headers={"Cookie": cookie})
    try:
        with urllib.request.build_opener(NoRedirect).open(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def item_ids(driver):
    return [box.get_attribute("value") for box in driver.find_elements(By.CSS_SELECTOR, "input[name=item]")]


driver = browser()
try:
    # Sign in: the link's token becomes a session cookie; the token leaves the address bar.
    driver.get(reviewer_link)
    check(driver.current_url == base + "/review", "signed in to /review, got " + driver.current_url)
    check("Access review" in driver.title, "title " + driver.title)
    rows = driver.find_elements(By.CSS_SELECTOR, "tbody tr")
    seen["reviewer_rows"] = len(rows)
    page = driver.page_source
    # (Persons show as "Name (ID, lifecycle)": match that, not a bare id a random token may contain.)
    check("(E4, " not in page and "(E2, " in page, "another reviewer's person (E4) is not on this page")
    # Every checkbox has a label (screen readers, keyboard).
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=item]"):
        label = driver.find_elements(By.CSS_SELECTOR, "label[for='%s']" % box.get_attribute("id"))
        check(len(label) == 1 and label[0].get_attribute("textContent").startswith("Choose "), "label for " + box.get_attribute("id"))
    # Filter by text.
    search = driver.find_element(By.ID, "q")
    search.send_keys("treasury")
    search.send_keys(Keys.ENTER)
    wait_for(lambda: "q=treasury" in driver.current_url, "filtered")
    seen["filtered_rows"] = len(driver.find_elements(By.CSS_SELECTOR, "tbody tr"))
    treasury = item_ids(driver)
    driver.get(base + "/review")
    ids = item_ids(driver)
    check(len(ids) == 3 and len(treasury) == 1 and treasury[0] in ids, "items %s, treasury %s" % (ids, treasury))

    # The session cookie is HttpOnly (not visible to scripts) and SameSite=Strict.
    cookie = driver.get_cookie("rollcall_review")
    check(cookie is not None and cookie.get("httpOnly") and cookie.get("sameSite") == "Strict", "cookie %s" % cookie)
    session = "rollcall_review=" + cookie["value"]

    # A forged form without the CSRF token is refused, and nothing is recorded.
    status, body = post("/review/decide", {"decision": "revoke", "item": ids}, session)
    seen["forged_status"] = status
    check(status == 403 and "Form refused" in body, "forged form: %s %s" % (status, body[:200]))
    csrf = driver.find_element(By.CSS_SELECTOR, "#decide input[name=csrf]").get_attribute("value")

    # Revoke two in bulk with a comment (keyboard: space ticks a focused checkbox).
    revoke = [i for i in ids if i != treasury[0]][:1] + treasury
    for item in revoke:
        box = driver.find_element(By.ID, "choose-" + item)
        box.send_keys(Keys.SPACE)
        check(box.is_selected(), "ticked " + item)
    driver.find_element(By.ID, "comment").send_keys("moved to another team")
    driver.find_element(By.ID, "revoke").click()
    wait_for(lambda: "2 decisions recorded." in driver.page_source, "revoke recorded")
    check(driver.find_element(By.ID, "pending").text == "1", "one item left")
    # Keep the last one.
    keep = item_ids(driver)
    check(len(keep) == 1, "one open item left, got %s" % keep)
    driver.find_element(By.ID, "choose-" + keep[0]).click()
    driver.find_element(By.ID, "keep").click()
    wait_for(lambda: "1 decision recorded." in driver.page_source, "keep recorded")
    check(driver.find_element(By.ID, "pending").text == "0", "nothing left")
    # A decided item cannot be decided again, even with a valid token.
    status, body = post("/review/decide", {"csrf": csrf, "decision": "keep", "item": keep}, session)
    check(status == 403 and "decided already" in body, "second decision: %s %s" % (status, body[:200]))
    driver.get(base + "/review?show=all")
    check(len(driver.find_elements(By.CSS_SELECTOR, "tbody tr")) == 3, "all three shown as decided")
    driver.save_screenshot(shots + "/review-reviewer.png")
    seen["revoked"] = revoke
    seen["kept"] = keep

    # The other reviewer: only their item; the first reviewer cannot decide it.
    driver.delete_all_cookies()
    driver.get(other_link)
    other = item_ids(driver)
    check(len(other) == 1 and other[0] not in ids and "(E4, " in driver.page_source and "(E2, " not in driver.page_source,
          "other reviewer's page")
    status, body = post("/review/decide", {"csrf": csrf, "decision": "revoke", "item": other}, session)
    check(status == 403 and "not assigned to E1" in body, "deciding another reviewer's item: %s %s" % (status, body[:200]))
    seen["other_rows"] = len(other)

    # The admin page: progress by reviewer.
    driver.delete_all_cookies()
    driver.get(admin_link)
    check(driver.current_url == base + "/review/admin", "admin page, got " + driver.current_url)
    check(driver.find_element(By.ID, "decided").text == "3", "3 decided")
    cells = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "tbody tr th, tbody tr td")]
    seen["admin_rows"] = cells
    driver.save_screenshot(shots + "/review-admin.png")
    # The compliance reports, on the page and as CSV, for the admin only.
    driver.find_element(By.LINK_TEXT, "Compliance reports").click()
    wait_for(lambda: driver.current_url == base + "/review/reports", "reports list")
    driver.find_element(By.LINK_TEXT, "privileged").click()
    wait_for(lambda: driver.current_url == base + "/review/reports/privileged", "privileged report")
    check(driver.find_element(By.ID, "count").text == "4", "four privileged memberships")
    check("authorised_by" in driver.page_source and "unauthorised (announced in run 1)" in driver.page_source, "authorisation shown")
    driver.save_screenshot(shots + "/report-privileged.png")
    admin_cookie = "rollcall_review=" + driver.get_cookie("rollcall_review")["value"]
    status, body = get("/review/reports/privileged.csv", admin_cookie)
    check(status == 200 and "\ndirectory,group,member,hr_id" in body, "CSV export: %s %s" % (status, body[:300]))
    seen["privileged_csv_rows"] = len(body.strip().split("\n")) - 2
    status, _ = get("/review/reports/privileged", session)
    check(status == 403, "a reviewer may not read reports: %s" % status)

    # Security headers on every page; an unknown session is asked to sign in.
    with urllib.request.urlopen(base + "/review/style.css") as response:
        headers = response.headers
    check("default-src 'none'" in headers.get("Content-Security-Policy", ""), "CSP")
    check(headers.get("X-Frame-Options") == "DENY" and headers.get("X-Content-Type-Options") == "nosniff", "frame and type options")
    status, _ = post("/review/decide", {"decision": "keep", "item": other}, "rollcall_review=forged")
    check(status == 401, "an unknown session: %s" % status)
finally:
    driver.quit()

print(json.dumps(seen))
