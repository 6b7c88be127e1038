"""qbsync: keeps Salesforce in step with QuickBooks Online in real time."""

__version__ = "0.1.0"
