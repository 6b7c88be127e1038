"""The `qbsync` command: serve, worker, migrate, events, keygen, rotate-keys, reconcile, replay,
verify, purge, backfill."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from datetime import UTC, datetime

import click

from qbsync.config import ConfigError, Settings, load_settings
from qbsync.services import Services


def _services(role: str | None) -> Services:
    """The command's Services: handed in as click's `obj` (tests), or built from the environment
    with the settings `role` ("web", "worker" or None) cannot do without."""
    given = click.get_current_context().obj
    if isinstance(given, Services):
        return given
    try:
        return Services(load_settings(role=role))
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


def _check_vault(services: Services) -> None:
    """Stop start-up when the configured keys cannot decrypt the stored tokens (a wrong key)."""
    from qbsync.quickbooks.tokens import TokenVaultError

    try:
        services.vault.verify()
    except TokenVaultError as error:
        raise click.ClickException(str(error)) from None


def _logging(settings: Settings) -> None:
    from qbsync.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)


class _Commands(click.Group):
    """A database that cannot be reached ends any command with one message, not a traceback."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - whatever the command returns
        from qbsync.store import StoreUnavailable

        try:
            return super().invoke(ctx)
        except StoreUnavailable as error:
            raise click.ClickException(f"QBSYNC_DATABASE_URL: {error}") from None


@click.group(cls=_Commands)
@click.version_option(package_name="qbsync")
def main() -> None:
    """Real-time QuickBooks Online to Salesforce sync."""


@main.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="host:port to listen on")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
def serve(bind: str, workers: int) -> None:
    """Run the web process (webhooks and /api) under gunicorn."""
    # Fail here, with one message, rather than inside every gunicorn worker.
    services = _services("web")
    _check_vault(services)
    services.close()  # gunicorn's workers open their own
    from qbsync.metrics import prepare_multiprocess_dir

    # prometheus_client reads the variable in each gunicorn process (qbsync.metrics).
    environ = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": prepare_multiprocess_dir(services.settings.metrics_dir),
    }
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:qbsync.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "qbsync.app:wsgi_app()",
    ]
    os.execve(sys.executable, argv, environ)  # noqa: S606 - replaces this process with gunicorn


@main.command()
@click.option("--once", is_flag=True, help="process the waiting events, then exit")
def worker(once: bool) -> None:
    """Run the sync worker: ledger → QuickBooks → Salesforce, CDC reconciliation, the scheduled
    purge, the revocations Intuit has not confirmed yet, and the alerts to the admins."""
    services = _services("worker")
    _check_vault(services)
    _logging(services.settings)
    from qbsync.alerts import Alerts, alert_periodically
    from qbsync.log_retention import purge_logs
    from qbsync.periodic import DeploymentLease
    from qbsync.reconcile import Reconciler, reconcile_periodically
    from qbsync.revocations import Revoker, retry_revocations_periodically
    from qbsync.store.purge import Retention, purge_periodically
    from qbsync.worker import Worker

    # One Services: the worker and its threads share the store and the clients.
    sync = Worker(services)
    if once:
        while sync.run_once():
            pass
        Revoker(services).retry_due()
        return
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if services.settings.worker_health_bind:
        from qbsync.health import serve_worker_health

        serve_worker_health(
            services, services.settings.worker_health_bind, alive=lambda: not stop.is_set()
        )
    # Periodic work runs in one worker of the deployment: the one holding the lease (qbsync.periodic).
    lease = DeploymentLease(
        services.store.leases, sync.name, services.settings.periodic_lease_seconds, services.clock
    )
    keeper = threading.Thread(target=lease.keep, args=(stop,), name="periodic-lease")
    keeper.start()
    # Webhooks are not guaranteed: reconcile with CDC at start-up, every interval and after a
    # reconnect (research/quickbooks.md §3, Intuit's webhook best practices).
    threading.Thread(
        target=reconcile_periodically,
        args=(Reconciler(services), stop, services.settings.reconcile_interval_seconds),
        kwargs={"held": lease.held},
        name="reconcile",
        daemon=True,
    ).start()
    threading.Thread(
        target=purge_periodically,
        args=(
            services.store.engine,
            Retention.from_settings(services.settings),
            stop,
            services.settings.purge_interval_seconds,
            services.clock,
            # Old sync logs in Salesforce go on the same schedule (docs/operating.md).
            lambda now: purge_logs(services.salesforce, now),
            lease.held,
        ),
        name="purge",
        daemon=True,
    ).start()
    # Tokens Intuit did not confirm revoked (a Disconnect or a failed connect while it was down).
    threading.Thread(
        target=retry_revocations_periodically,
        args=(Revoker(services), stop),
        kwargs={"held": lease.held},
        name="revocations",
        daemon=True,
    ).start()
    # Reconnect Required, a token near its hard expiry, failures past the threshold (qbsync.alerts).
    threading.Thread(
        target=alert_periodically,
        args=(Alerts(services), stop, services.settings.alert_interval_seconds, lease.held),
        name="alerts",
        daemon=True,
    ).start()
    sync.run_forever(stop)
    keeper.join()  # gives the lease up, so another worker takes the periodic work at once


@main.command()
def migrate() -> None:
    """Bring the database's schema up to this release (the Procfile's release phase). `serve`
    and `worker` do the same when they start; this runs it once, before they start."""
    from qbsync.store.migrate import current_revision

    services = _services(None)
    click.echo(f"schema at revision {current_revision(services.store.engine)}")
    services.close()


@main.command()
def purge() -> None:
    """Delete settled events, quarantined bodies, applied versions and OAuth states past their
    ages (QBSYNC_PURGE_*_DAYS); prints the rows deleted per kind."""
    from qbsync.store.purge import Retention
    from qbsync.store.purge import purge as purge_ledger

    services = _services(None)
    counts = purge_ledger(
        services.store.engine, Retention.from_settings(services.settings), services.clock()
    )
    click.echo(json.dumps(counts))


@main.command("purge-logs")
def purge_logs_command() -> None:
    """Delete the sync logs (QB_Sync_Log__c) in Salesforce past each company's retention (Keep
    Successful/Failed Logs in QB Setup) with a Bulk API delete job; prints the counts. The worker
    does the same on its purge schedule."""
    from qbsync.log_retention import purge_logs
    from qbsync.salesforce.errors import SalesforceError

    services = _services("worker")
    try:
        counts = purge_logs(services.salesforce, services.clock())
    except SalesforceError as error:
        raise click.ClickException(str(error)) from None
    click.echo(json.dumps(counts))


@main.command()
@click.option(
    "--state",
    type=click.Choice(["pending", "claimed", "done", "skipped", "failed", "dead"]),
    help="only events in this state",
)
@click.option("--quarantined", is_flag=True, help="show quarantined webhook bodies instead")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def events(state: str | None, quarantined: bool, limit: int, as_json: bool) -> None:
    """List events of the ledger by state, or the quarantined bodies."""
    ledger = _services(None).store.events
    if quarantined:
        for item in ledger.quarantined(limit=limit):
            body = item.body.decode("utf-8", errors="replace")
            if as_json:
                click.echo(json.dumps({"id": item.id, "reason": item.reason, "body": body}))
            else:
                click.echo(f"#{item.id} {item.received_at:%Y-%m-%d %H:%M:%S} {item.reason}")
                click.echo(f"    {body[:2000]}")
        return
    counts = ledger.counts()
    if not as_json:
        click.echo(
            "  ".join(f"{name}={count}" for name, count in sorted(counts.items())) or "empty"
        )
    for item in ledger.events(state=state, limit=limit):
        row = {
            "id": item.id,
            "state": item.state,
            "realm": item.realm_id,
            "entity": item.entity,
            "entity_id": item.entity_id,
            "operation": item.operation,
            "attempts": item.attempts,
            "reason": item.reason or item.last_error or "",
        }
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(
                "{id:>6} {state:<8} {realm} {entity} {entity_id} {operation} "
                "attempts={attempts} {reason}".format(**row)
            )


@main.command()
def keygen() -> None:
    """Print a new Fernet key for QBSYNC_ENCRYPTION_KEY."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@main.command("rotate-keys")
def rotate_keys() -> None:
    """Re-encrypt every stored token, and every token waiting for Intuit's revocation, with the
    newest QBSYNC_ENCRYPTION_KEY key."""
    services = _services(None)
    if not services.settings.encryption_keys:
        raise click.ClickException("QBSYNC_ENCRYPTION_KEY is required but not set")
    count = services.vault.rotate()
    waiting = services.store.revocations.rewrite_secrets(
        lambda row: services.vault.reseal(row.secret, row.realm_id)
    )
    click.echo(
        f"re-encrypted {count} token set(s) and {waiting} token(s) waiting for revocation "
        "with the newest key"
    )


def _moment(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time option; without a zone it is UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2026-03-01T12:00:00Z)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _catalog_entity(services: Services, name: str | None) -> str | None:
    """The catalog spelling of a QuickBooks object name given on the command line."""
    if name is None:
        return None
    catalog = services.catalog
    entity = catalog.entity(name)
    if entity is None:
        raise click.ClickException(
            f"--object {name!r} is not a QuickBooks object; one of: {', '.join(catalog.entity_names)}"
        )
    return entity.name


@main.command()
@click.option("--realm", help="only this realm (default: every connected realm)")
def reconcile(realm: str | None) -> None:
    """One CDC reconciliation pass: QuickBooks changes not applied yet become events."""
    services = _services("worker")
    _logging(services.settings)
    from qbsync.reconcile import Reconciler

    counts = Reconciler(services).run_once(realm)
    for line in counts.skipped:
        click.echo(f"skipped {line}")
    for line in counts.errors:
        click.echo(f"error   {line}", err=True)
    click.echo(
        f"realms={counts.realms} objects={counts.entities} cdc_calls={counts.cdc_calls} "
        f"changes={counts.changes} already_applied={counts.already_applied} "
        f"enqueued={counts.enqueued} window_splits={counts.window_splits}"
    )
    if counts.errors:
        raise SystemExit(1)


@main.command()
@click.option("--realm", help="only events of this realm")
@click.option("--object", "qb_object", help="only events of this QuickBooks object, e.g. Customer")
@click.option("--since", callback=_moment, help="changes at or after this time (ISO 8601, UTC)")
@click.option("--until", callback=_moment, help="changes before this time (ISO 8601, UTC)")
@click.option(
    "--state",
    "states",
    type=click.Choice(["failed", "dead"]),
    multiple=True,
    help="which events (default: failed and dead)",
)
def replay(
    realm: str | None,
    qb_object: str | None,
    since: datetime | None,
    until: datetime | None,
    states: tuple[str, ...],
) -> None:
    """Put failed or dead events back to pending (attempts reset), e.g. after a mapping fix."""
    if since and until and since >= until:
        raise click.ClickException("--since must be before --until")
    services = _services(None)
    entity = _catalog_entity(services, qb_object)
    count = services.store.events.requeue(
        states or ("failed", "dead"), realm_id=realm, entity=entity, since=since, until=until
    )
    click.echo(f"{count} event(s) back to pending")


@main.command()
@click.option("--realm", required=True, help="the QuickBooks realm (company) id")
@click.option("--object", "qb_object", help="only this mapped QuickBooks object, e.g. Customer")
def verify(realm: str, qb_object: str | None) -> None:
    """Compare QuickBooks with Salesforce; exit code 1 when records are missing, stale or unexpected."""
    from qbsync import drift
    from qbsync.quickbooks.errors import QuickBooksError
    from qbsync.salesforce.errors import SalesforceError

    services = _services("worker")
    try:
        reports = drift.verify_realm(services, realm, qb_object)
    except (drift.VerifyError, QuickBooksError, SalesforceError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(drift.format_report(realm, reports))
    if not all(report.clean for report in reports):
        raise SystemExit(1)


# How often `qbsync backfill` looks at its jobs' progress.
FOLLOW_POLL_SECONDS = 1.0


def _follow_wait(seconds: float) -> None:
    time.sleep(seconds)


@main.command()
@click.option("--realm", help="the QuickBooks realm (company) id")
@click.option(
    "--object",
    "qb_objects",
    multiple=True,
    help="a mapped QuickBooks object, e.g. Customer (repeat for several; they run in dependency order)",
)
@click.option("--since", help="only records changed on or after this date (ISO 8601, UTC)")
@click.option("--cancel", "cancel_key", metavar="JOBKEY", help="cancel this job instead")
@click.option("--detach", is_flag=True, help="queue the jobs and return without following them")
def backfill(
    realm: str | None,
    qb_objects: tuple[str, ...],
    since: str | None,
    cancel_key: str | None,
    detach: bool,
) -> None:
    """Historical sync: bring the records a company already has into Salesforce, then follow the
    jobs with a progress bar (rate, ETA). The worker runs them; Ctrl-C stops following only."""
    from qbsync.backfill_requests import (
        BadRequest,
        ConfigUnavailable,
        UnknownRealm,
        cancel_backfill,
        start_backfills,
    )
    from qbsync.store.backfills import JobConflict, JobFinished, JobNotFound

    services = _services("worker")
    if cancel_key:
        try:
            job = cancel_backfill(services, cancel_key)
        except (JobNotFound, JobFinished) as error:
            message = f"no job {cancel_key!r}" if isinstance(error, JobNotFound) else str(error)
            raise click.ClickException(message) from None
        click.echo(f"{job.job_key} {job.qb_object}: {job.state}")
        return
    if not realm or not qb_objects:
        raise click.UsageError("--realm and at least one --object are required (or --cancel)")
    try:
        jobs = start_backfills(services, realm, list(qb_objects), since)
    except (BadRequest, UnknownRealm, ConfigUnavailable, JobConflict) as error:
        raise click.ClickException(str(error)) from None
    for job in jobs:
        click.echo(f"{job.job_key} {job.qb_object}: {job.state}")
    if detach:
        return
    try:
        for job in jobs:
            _follow(services, job.job_key)
    except KeyboardInterrupt:
        click.echo("\nStopped following; the jobs keep running (qbsync backfill --cancel JOBKEY).")


def _follow(services: Services, job_key: str) -> None:
    """One job's progress bar until it ends, then its counts."""
    from tqdm import tqdm

    jobs = services.store.backfills
    job = jobs.get(job_key)
    with tqdm(desc=job.qb_object, unit=" records", total=job.total, dynamic_ncols=True) as bar:
        while True:
            if job.total is not None and bar.total != job.total:
                bar.total = job.total
            bar.update(job.counts.processed - bar.n)
            if job.finished:
                break
            _follow_wait(FOLLOW_POLL_SECONDS)
            job = jobs.get(job_key)
    counts = job.counts
    click.echo(
        f"{job.qb_object}: {job.state}; processed {counts.processed}, created {counts.created}, "
        f"updated {counts.updated}, matched {counts.matched}, ambiguous {counts.ambiguous}, "
        f"failed {counts.failed}" + (f" ({job.message})" if job.message else "")
    )


if __name__ == "__main__":
    main()
