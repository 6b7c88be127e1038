"""The emulators' HTTP server: werkzeug's threaded server, with Nagle's algorithm off.

werkzeug's handler writes a response in several `send` calls (status and headers, then the
body). With Nagle's algorithm on, the kernel holds the later write until the client has
acknowledged the earlier one, and the client delays that acknowledgement: measured on this
machine, every request to an emulator took about 20 ms longer than the emulator spent on it
(a trivial admin GET 23 ms instead of 5 ms), which the benchmarks counted as the product's time.
Intuit's and Salesforce's servers add no such wait, and the middleware's own web server does
not either (gunicorn turns Nagle off on its listening socket). So each accepted connection
gets TCP_NODELAY.

werkzeug still closes the connection after every response (it reads what follows a response to
drain the request, which would eat a kept-alive connection's next request), so a client opens a
connection per request: a TCP handshake, plus TLS for the Salesforce emulator (about 2 ms here).
"""

from __future__ import annotations

import socket
import ssl

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class NoDelayRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, with TCP_NODELAY on the connection it serves."""

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def make_emulator_server(
    host: str, port: int, app: Flask, ssl_context: ssl.SSLContext | None = None
) -> BaseWSGIServer:
    """A threaded server (a thread per request, so injected latencies overlap) for `app`."""
    return make_server(
        host,
        port,
        app,
        threaded=True,
        request_handler=NoDelayRequestHandler,
        ssl_context=ssl_context,
    )
