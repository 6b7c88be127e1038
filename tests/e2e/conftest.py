"""One sandbox for the end-to-end suite: both emulators, gunicorn and the worker as real processes.

The company is connected through the real OAuth flow and configured with the recommended mappings;
Customer and Item sync in real time, Vendor is mapped but not enabled.
"""

import pytest

from qbsync_sandbox.stack import SF_ADMIN_USERNAME, Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with Stack(tmp_path_factory.mktemp("sandbox")).running() as sandbox:
        sandbox.connect()
        yield sandbox


@pytest.fixture(scope="session")
def sf(stack):
    return stack.salesforce()


@pytest.fixture(scope="session")
def admin_sf(stack):
    """The admin's session: what the QB Setup app changes, the admin changes."""
    return stack.salesforce(SF_ADMIN_USERNAME)


@pytest.fixture(scope="session")
def mappings(stack):
    """QuickBooks object → QB_Object_Mapping__c id."""
    return stack.apply_recommended_mappings(enable=("Customer", "Item"))


@pytest.fixture
def webhooks(stack):
    """Change the emulator's delivery settings for one test; restored afterwards."""
    original = stack.qbo("GET", "/webhooks")

    def configure(**changes):
        return stack.qbo("PATCH", "/webhooks", json=changes)

    yield configure
    stack.qbo(
        "PATCH",
        "/webhooks",
        json={
            key: original[key] for key in ("format", "duplicate_rate", "reorder_rate", "drop_rate")
        },
    )
