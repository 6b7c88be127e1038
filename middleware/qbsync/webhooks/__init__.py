"""Intuit webhooks: signature check, payload parsing and the Flask endpoint."""
