"""Browser tests drive Debian's Chromium through Playwright (no browser download)."""

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _icd10_descriptions_loaded():
    """The claims tab describes each diagnosis from the ICD-10-CM tables, parsed on first use
    in the process (seconds): parse them once before the first page, not inside a step."""
    from cases.screening import describe_icd10

    describe_icd10("S82201A")


@pytest.fixture
def site(live_server, transactional_db, django_db_serialized_rollback):
    """The live server's base URL, with a database the browser's requests share."""
    return live_server.url


@pytest.fixture
def eager_tasks():
    """The live server has no Celery worker: tasks (imports, letters) run in the request that
    sends them, after its commit."""
    from recovery.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def sign_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("domcontentloaded")


RESULTS = Path(__file__).resolve().parents[2] / "var" / "test-results"


@contextmanager
def step(page, name: str, timings: dict | None = None):
    """One named step of a flow: on failure a full-page screenshot is kept as
    var/test-results/journey-<name>.png before the error goes on."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        RESULTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(RESULTS / f"journey-{name}.png"), full_page=True)
        except Exception:  # a failed screenshot must not hide the real failure
            pass
        raise
    finally:
        if timings is not None:
            timings[name] = round(time.monotonic() - started, 1)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("domcontentloaded")
