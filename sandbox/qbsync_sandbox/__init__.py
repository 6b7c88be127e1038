"""Local emulators of QuickBooks Online and Salesforce for the demo and the end-to-end tests.

Each emulator lives in its own subpackage (`qbsync_sandbox.emulators.quickbooks`, `qbsync_sandbox.emulators.salesforce`)
and is imported on its own, so starting one never loads the other.
"""
