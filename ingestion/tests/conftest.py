from pathlib import Path

import pytest

UPLOADER = ("add_loadbatch", "view_loadbatch", "view_rejectedinvoice")


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploaded files are kept under the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def uploader(staff_user):
    """A staff user who uploads files and reads batches and rejected rows."""
    return staff_user("uploader", *UPLOADER)


@pytest.fixture
def uploader_client(uploader, media, logged_in):
    return logged_in(uploader)
