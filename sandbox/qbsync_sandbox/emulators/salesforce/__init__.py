"""Local Salesforce emulator: schema from force-app, REST API, OAuth, faults, records page.

org = Org(load_schema("force-app"))
app = create_salesforce_app(org, client_id="…", certificate_pem=pem)
server, base_url, ca_path = run_in_thread(app, tls_dir)
"""

from qbsync_sandbox.emulators.salesforce.app import create_salesforce_app
from qbsync_sandbox.emulators.salesforce.schema import Schema, SchemaError, load_schema
from qbsync_sandbox.emulators.salesforce.server import make_https_server, run_in_thread
from qbsync_sandbox.emulators.salesforce.store import Org

__all__ = [
    "Org",
    "Schema",
    "SchemaError",
    "create_salesforce_app",
    "load_schema",
    "make_https_server",
    "run_in_thread",
]
