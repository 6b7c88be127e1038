"""Builders, fakes and paths shared by the test suites (`from tests.support import …`)."""
