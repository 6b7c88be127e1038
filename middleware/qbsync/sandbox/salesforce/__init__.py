"""Local Salesforce emulator: schema from force-app, REST API, OAuth, faults, records page.

org = Org(load_schema("force-app"))
app = create_salesforce_app(org, client_id="…", certificate_pem=pem)
server, base_url, ca_path = run_in_thread(app, tls_dir)
"""

from qbsync.sandbox.salesforce.app import create_salesforce_app
from qbsync.sandbox.salesforce.schema import Schema, SchemaError, load_schema
from qbsync.sandbox.salesforce.server import make_https_server, run_in_thread
from qbsync.sandbox.salesforce.store import Org

__all__ = [
    "Org",
    "Schema",
    "SchemaError",
    "create_salesforce_app",
    "load_schema",
    "make_https_server",
    "run_in_thread",
]
