"""The newest QuickBooks version applied to Salesforce, per record.

The worker skips a record whose fetched version is not newer than the applied one (duplicates and
out-of-order events converge); CDC reconciliation enqueues only records newer than it. Both read
and write a whole batch at once: one query, one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Engine, and_, or_, select

from qbsync.events import Version
from qbsync.store.database import transaction, upsert
from qbsync.store.schema import applied_versions

# Ids per IN list: well under SQLite's limit on bound parameters.
_ID_CHUNK = 500


class AppliedVersions:
    """The `applied_versions` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def applied_many(self, realm_id: str, entity: str, ids: Iterable[str]) -> dict[str, Version]:
        """The applied version of each of `ids` that has one."""
        wanted = list(dict.fromkeys(ids))
        t = applied_versions.c
        found: dict[str, Version] = {}
        with transaction(self.engine) as connection:
            for start in range(0, len(wanted), _ID_CHUNK):
                rows = connection.execute(
                    select(t.entity_id, t.last_updated, t.sync_token).where(
                        t.realm_id == realm_id,
                        t.entity == entity,
                        t.entity_id.in_(wanted[start : start + _ID_CHUNK]),
                    )
                )
                found.update(
                    {row.entity_id: Version(row.last_updated, row.sync_token) for row in rows}
                )
        return found

    def applied_ids(self, realm_id: str, entity: str) -> list[str]:
        """Every id of `entity` with an applied version: the records Salesforce holds."""
        t = applied_versions.c
        with transaction(self.engine) as connection:
            rows = connection.execute(
                select(t.entity_id).where(t.realm_id == realm_id, t.entity == entity)
            )
            return sorted(row.entity_id for row in rows)

    def record_many(self, realm_id: str, entity: str, versions: Mapping[str, Version]) -> None:
        """Remember these versions as applied; an older one never replaces a newer one."""
        if not versions:
            return
        rows = [
            {
                "realm_id": realm_id,
                "entity": entity,
                "entity_id": entity_id,
                "last_updated": version.last_updated,
                "sync_token": version.sync_token,
            }
            for entity_id, version in versions.items()
        ]
        t = applied_versions.c
        with transaction(self.engine) as connection:
            upsert(
                connection,
                applied_versions,
                rows,
                key=["realm_id", "entity", "entity_id"],
                update=["last_updated", "sync_token"],
                where=lambda new: or_(
                    t.last_updated < new.last_updated,
                    and_(t.last_updated == new.last_updated, t.sync_token < new.sync_token),
                ),
            )
