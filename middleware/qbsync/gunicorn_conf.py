"""Gunicorn's configuration for `qbsync serve` (`gunicorn --config python:qbsync.gunicorn_conf`).

`--bind` and `--workers` come from the command line; the rest is fixed here.
"""

# Intuit wants an answer within 3 s; a stuck request must not hold a worker for long.
timeout = 30

# The access log on stdout, without query strings: Intuit's OAuth callback carries the
# authorization `code` and the `state` there, and neither may reach a log. `%(U)s` is the path
# alone (gunicorn's default `%(r)s` is the whole request line). The referer is left out for the
# same reason: a page's address can carry a query.
accesslog = "-"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s "%(a)s"'
