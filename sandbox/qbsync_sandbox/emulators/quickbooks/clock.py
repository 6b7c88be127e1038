"""Time formats QuickBooks uses, and the emulator's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

# The emulated companies keep Pacific standard time; Intuit's samples carry offsets such as
# "2024-03-04T14:28:52-08:00" (research notes §6). A fixed offset keeps tests deterministic.
COMPANY_TZ = timezone(timedelta(hours=-8))

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def metadata_time(moment: datetime) -> str:
    """`MetaData.CreateTime` / `LastUpdatedTime`: whole seconds with the company's offset."""
    return moment.astimezone(COMPANY_TZ).replace(microsecond=0).isoformat()


def intuit_time(moment: datetime) -> str:
    """The `time` of a response envelope, e.g. "2015-08-07T05:35:56.791-07:00"."""
    return moment.astimezone(COMPANY_TZ).isoformat(timespec="milliseconds")


def event_time(moment: datetime) -> str:
    """CloudEvents `time` / legacy `lastUpdated` in UTC, e.g. "2025-09-10T21:31:25.179851Z"."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse an ISO date or date-time; a naive value is taken in the company's time zone."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=COMPANY_TZ)
    return value
