import os
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent
# The reference export (a copy of the finance team's real file), kept out of data/ so that
# `load_invoices data/` (and `make demo`) load only the generated sample.
SEED_FILE = ROOT / "data" / "reference" / "seed_input.csv"
# Where browser tests save their screenshots: a temporary folder, unless SCREENSHOT_DIR is set
# (`make screenshots` sets it to docs/).
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "")
# Debian's Chromium, driven by Playwright; never a downloaded browser.
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(autouse=True)
def _answers_cache_empty():
    """Cached answers never outlive a test (its database is rolled back under them)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _celery_join_allowed():
    """Each test starts allowed to wait on an eager task's result. Celery keeps "inside a task"
    in one process-wide flag that every eager call sets and restores; eager tasks started from
    two threads at once (a load beside progress polls, notices sent from threads) can restore
    it out of order and leave it set, and a later test's ``.get()`` would then be refused."""
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


# --- Test tiers (docs/development.md) ------------------------------------------------------
# A test's tiers follow from what it uses, so a new test needs no list and no mark of its own:
# - `database`: it touches the database (the django_db mark, a db fixture, the live server); the
#   MariaDB pass of `make test` runs only these, every other test runs once, on SQLite;
# - `browser`: it drives Chromium (the `chromium` fixture); runs once, in the SQLite pass;
# - `process`: it starts Celery workers (the `workers` fixture); left out of `make test-fast`,
#   like `slow` tests. Tests that start other processes say so with `pytest.mark.process`.
# A test that needs the MariaDB server without Django's test database (it starts processes on
# a database of its own) says so with `pytest.mark.database`, or the MariaDB pass never runs it.
# A database test whose point does not depend on the database vendor says so with
# `pytest.mark.vendor_neutral`: it runs once, in the SQLite pass.
DATABASE_FIXTURES = frozenset(
    {"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback", "live_server"}
)
TIER_FIXTURES = {"chromium": pytest.mark.browser, "workers": pytest.mark.process}
# Fixtures a module sets up once for its tests (its Celery workers, a private MariaDB server, a
# gunicorn): one xdist worker takes all the module's tests that use them (`--dist loadgroup`),
# so the module starts them once, not once per xdist worker.
MODULE_FIXTURES = frozenset({"fleet", "mariadb", "gunicorn"})
LONG_MARKS = ("slow", "process", "browser")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    tiers_mark(items)  # before `-m` selects on these marks
    yield  # pytest-django sorts: plain database tests, transactional ones, then the rest
    longest_first(items)
    if getattr(config.option, "loadgroup", False):  # set on the xdist workers of `--dist loadgroup`
        xdist_groups_named(items)


def tiers_mark(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if item.get_closest_marker("django_db") or fixtures & DATABASE_FIXTURES:
            item.add_marker(pytest.mark.database)
        for fixture, mark in TIER_FIXTURES.items():
            if fixture in fixtures:
                item.add_marker(mark)
        if fixtures & MODULE_FIXTURES and isinstance(item, pytest.Function):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def _django_class(item: pytest.Item) -> int:
    """pytest-django's order: 0 plain database tests, 1 transactional ones, 2 the rest."""
    fixtures = set(getattr(item, "fixturenames", ()))
    mark = item.get_closest_marker("django_db")
    if (mark and (mark.kwargs.get("transaction") or mark.kwargs.get("reset_sequences"))) or fixtures & {
        "transactional_db",
        "live_server",
    }:
        return 1
    return 0 if mark or "db" in fixtures else 2


def longest_first(items: list[pytest.Item]) -> None:
    """xdist hands the tests out in this order (`--no-loadscope-reorder`), one at a time, a
    module's group as one; a long test handed out last would end the run on its own. So the long
    ones go first: the long tests without a database before everything (they leave no data
    behind), then in each of pytest-django's classes the module groups and the slow, process and
    browser tests before the others. The classes keep their order (the transactional tests empty
    the tables that the plain ones may read)."""

    def rank(item: pytest.Item) -> tuple[int, int]:
        django_class = _django_class(item)
        long = any(item.get_closest_marker(mark) for mark in LONG_MARKS)
        grouped = item.get_closest_marker("xdist_group") is not None
        if django_class == 2:
            return (0 if long else 4), 0
        return django_class + 1, (0 if grouped else 1 if long else 2)

    items.sort(key=rank)


def xdist_groups_named(items: list[pytest.Item]) -> None:
    """pytest-xdist 3.8 names a test's group by appending ``@group`` to its node id, which
    pytest 9.2's structured node ids ignore (pytest-xdist#1386): the groups would be spread over
    the xdist workers, each starting its own Celery workers. Named here while xdist does not."""
    from _pytest.nodeid import NodeId

    for item in items:
        names = {
            str(m.args[0] if m.args else m.kwargs.get("name", "default"))
            for m in item.iter_markers("xdist_group")
        }
        suffix = "@" + "_".join(sorted(names))
        if names and not item.nodeid.endswith(suffix):
            item._id = NodeId.parse(item.nodeid + suffix)


@pytest.fixture
def seed_file() -> Path:
    if not SEED_FILE.exists():
        pytest.fail(f"reference export missing: {SEED_FILE}")
    return SEED_FILE


@pytest.fixture
def screenshot(tmp_path):
    """``screenshot(page, "name.png", **options)`` saves a page to SCREENSHOT_DIR or tmp_path."""
    folder = Path(SCREENSHOT_DIR) if SCREENSHOT_DIR else tmp_path / "screenshots"

    def save(page, name: str, **options) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / name), **options)
        return folder / name

    return save


@pytest.fixture
def reference_data(django_db_blocker):
    """The dimension rows the data migration creates (transactional tests flush them)."""
    from warehouse.models import Customer, Item, Status
    from warehouse.reference import reference_data_create

    with django_db_blocker.unblock():
        reference_data_create(customer_model=Customer, item_model=Item, status_model=Status)


@pytest.fixture
def staff_user(django_user_model):
    """``staff_user(username, *codenames, **fields)``: a staff user holding the permissions named."""
    from django.contrib.auth.models import Permission

    def make(username: str, *codenames: str, **fields):
        user = django_user_model.objects.create_user(
            username, **{"password": "pw", "is_staff": True, **fields}
        )
        user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
        return user

    return make


@pytest.fixture
def logged_in():
    """``logged_in(user, **options)``: a new ``Client(**options)`` holding ``user``'s session."""
    from django.test import Client

    def make(user, **options) -> Client:
        client = Client(**options)
        client.force_login(user)
        return client

    return make


@pytest.fixture
def browser_login(django_user_model, live_server, logged_in):
    """A superuser's session cookie for the live server (logged in the Django way), for Playwright."""
    client = logged_in(
        django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-admin-123")
    )
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


@pytest.fixture
def chromium(monkeypatch):
    """A headless Chromium (skips the test where /usr/bin/chromium or Playwright is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's loop vs the ORM, for this test only: the processes later tests start (a
    # `check --deploy` among them) must not inherit it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class WatchedPage(NamedTuple):
    context: Any
    page: Any
    requests: list[str]  # every URL the page asked for
    errors: list[str]  # console errors and uncaught exceptions


@pytest.fixture
def watched_page(chromium, browser_login):
    """Opens a new context (``new_context`` options) logged in as ``browser_login``, and a page
    whose requests and errors are collected; the test closes the context."""

    def open_page(**options) -> WatchedPage:
        context = chromium.new_context(**options)
        context.add_cookies([browser_login])
        page = context.new_page()
        requests: list[str] = []
        errors: list[str] = []

        def console(message) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("request", lambda request: requests.append(request.url))
        page.on("console", console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        return WatchedPage(context, page, requests, errors)

    return open_page
