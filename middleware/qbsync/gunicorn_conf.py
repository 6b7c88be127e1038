"""Gunicorn's configuration for `qbsync serve` (`gunicorn --config python:qbsync.gunicorn_conf`).

`--bind` and `--workers` come from the command line; the rest is fixed here.
"""

# The web process faces the internet (through a TLS-terminating proxy that need not buffer), so
# a client that opens a connection and sends its request slowly, or never finishes it, must cost
# almost nothing. Gunicorn's sync worker gives each connection the whole worker until `timeout`
# (its docs: the sync worker "requires a buffering proxy"; to serve clients directly "use one of
# the async workers", gunicorn.org/design and the FAQ), so 4 stalled connections silenced
# `--workers 4` for 30 s. Its gthread worker is no cure: gunicorn 27's gthread.py gives a new
# connection a pool thread for up to 5 s while it waits for a first byte, and a connection whose
# headers arrive in part keeps its thread until the client gives up (a blocking read), so
# `threads` stalled clients stop it too.
# gevent's worker reads each connection in its own greenlet (a few KB): hundreds of stalled
# connections wait side by side while a webhook is answered, and reading a request's line and
# headers is bounded by `keepalive` (base_async.py wraps every read of a request in
# `gevent.Timeout(keepalive)`), after which the connection is closed; a body that stalls has no
# such deadline but holds its greenlet only. The price is gevent's monkey-patching of the
# standard library in each worker, before the app is imported (no `preload_app`); the app's
# blocking calls cooperate with it: requests (patched sockets) and psycopg 3 (it waits in Python
# when gevent patched `select`, psycopg/waiting.py). SQLite's calls do not yield: a wait for
# another process's write lock holds the whole worker, as it held a sync worker.
# tests/e2e/test_slow_clients.py holds 300 stalled connections open and times signed webhooks
# through them; docs/performance.md compares the two worker classes.
worker_class = "gevent"
# Connections one worker holds at once (gunicorn's default, named here because it is the
# limit a flood of slow clients meets: past it the worker stops accepting until some close).
worker_connections = 1000
# Seconds a connection may take to send its request line and headers, and to stay idle between
# requests (gunicorn's default). Intuit and Salesforce send a whole request at once. A stopping
# worker also waits this long for its kept-alive connections, within a platform's stop grace.
keepalive = 2

# A worker whose loop is blocked this long (no heartbeat) is killed and replaced.
timeout = 30

# Gunicorn 25.1+ listens on a control socket for `gunicornc`, by default one path per user
# ($HOME/.gunicorn/gunicorn.ctl): two servers on one machine would take it from each other, and
# qbsync is managed by signals and its platform, not by gunicornc.
control_socket_disable = True

# The access log on stdout, without query strings: Intuit's OAuth callback carries the
# authorization `code` and the `state` there, and neither may reach a log. `%(U)s` is the path
# alone (gunicorn's default `%(r)s` is the whole request line). The referer is left out for the
# same reason: a page's address can carry a query.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'


def child_exit(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """A worker ended: prometheus_client's multiprocess mode drops its live values (its docs
    name this hook); its counters stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """gunicorn stops: remove the metrics directory `qbsync serve` made for this run, if it made
    one (a killed server leaves it in the temporary directory)."""
    from qbsync.config import load_settings
    from qbsync.metrics import remove_own_multiprocess_dir

    remove_own_multiprocess_dir(load_settings().metrics_dir)
