import pytest

from config.tests.accounts import UPLOADER


@pytest.fixture
def account_user(staff_user):
    """``account_user(account, viewer=codenames)``: the user of one of ``ACCOUNTS``.

    anonymous: None; staff: no permission; viewer: the permissions ``viewer`` names;
    uploader: reads and uploads batches; superuser: every permission.
    """

    def make(account: str, *, viewer: tuple[str, ...]):
        if account == "anonymous":
            return None
        codenames = {"viewer": viewer, "uploader": UPLOADER}.get(account, ())
        return staff_user(account, *codenames, is_superuser=account == "superuser")

    return make
