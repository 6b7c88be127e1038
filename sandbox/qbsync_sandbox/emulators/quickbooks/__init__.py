"""A QuickBooks Online emulator: OAuth, an Accounting API subset, webhooks, fault injection.

It behaves like the documented Intuit platform (see the research notes cited in each module) so
the end-to-end tests and the demo exercise the real middleware against it.
"""

from qbsync_sandbox.emulators.quickbooks.app import create_qbo_app
from qbsync_sandbox.emulators.quickbooks.server import run_in_thread
from qbsync_sandbox.emulators.quickbooks.state import Change, QboState
from qbsync_sandbox.emulators.quickbooks.webhooks import sign

__all__ = ["Change", "QboState", "create_qbo_app", "run_in_thread", "sign"]
