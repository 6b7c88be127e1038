"""Apply injected faults to a request of one endpoint family."""

from __future__ import annotations

import time

from flask import Response, jsonify

from qbsync_sandbox.emulators.quickbooks import errors
from qbsync_sandbox.emulators.quickbooks.emulator import emulator


def injected_failure(family: str) -> Response | None:
    """Sleep the injected latency; return the injected failure response, if any."""
    emu = emulator()
    outcome = emu.faults.take(family)
    if outcome.delay_seconds:
        time.sleep(outcome.delay_seconds)
    rule = outcome.failure
    if rule is None:
        return None
    if rule.kind == "timeout":
        # Hold the request longer than the client waits; the client sees a read timeout.
        time.sleep(rule.seconds)
        fault = errors.server_error(504)
    elif rule.kind == "throttle":
        fault = errors.throttled()
    else:
        fault = errors.server_error(rule.status)
    if family == "oauth":
        response = jsonify(
            {"error": "server_error" if fault.status >= 500 else "too_many_requests"}
        )
    else:
        response = jsonify(fault.body(emu.state.now()))
    response.status_code = fault.status
    return response
