"""Matching before creating: a historical sync links the records a Salesforce org already holds
(typed in or imported before the sync, so without an external id) instead of creating duplicates.

The admin picks rules per object mapping (`QB_Object_Mapping__c.Match_Rules__c`):

- `Name`: the mapped `Name`, compared trimmed and case-insensitively (SOQL's `=` and `IN` on a
  text field are case-insensitive too).
- `EmailDomain` (Account targets): the domain of the record's mapped email (the field mapped from
  a QuickBooks `…EmailAddr.Address`) or of its mapped `Website`, against the domain of the
  candidate's `Website` and of the candidate's value in that same email field. `www.`, the scheme,
  a port and a path are ignored. Public webmail domains (gmail.com, outlook.com, …) are never
  used: they are shared by unrelated people and would match everyone.
- `Phone` (Account targets): `Phone`, compared as digits only (a leading NANP country code `1`
  of an 11-digit number is dropped; fewer than 7 digits are not compared). SOQL cannot compare
  digits only, so the query asks for the common written forms of each number (as typed,
  digits only, `(555) 123-4567`, which is how Salesforce formats a US number typed in the UI,
  `555-123-4567`, `555.123.4567`, `+1 555 123 4567`) and the decision compares digits.
- `SKU` (Product2 targets): the mapped `ProductCode`, trimmed and case-insensitive.

Each rule is evidence on its own. A candidate's weight is the number of rules it matched; the
candidates with the highest weight decide: exactly one is a link (its external id is set, then the
normal upsert writes the mapped fields over it), several are ambiguous (listed for the admin as a
`QB_Match_Review__c`, the record is not written), none is a create. One Salesforce record claimed
by two records of the same page is ambiguous for both: which of the two it is, is not guessed.

Only records with a blank external id are candidates: a record already linked is an update by
external id, never a match. `plan_page` is the entry point of a backfill, once per page: one
Composite call of SOQL queries (`SalesforceClient.query_many`) and the pure `plan` below; or,
when the target holds fewer than 2,000 unlinked records, one query for the whole job
(`Candidates`). `plan_creates` is real time's, once per batch of records written for the first
time: the same query, which also asks whether their external ids are in Salesforce already.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qbsync.mapping import (
    MappingError,
    ObjectMapping,
    ParentTargets,
    SObjectDescribe,
    build_record,
)
from qbsync.outcomes import Outcome, from_salesforce
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.client import SOQL_STATEMENT_LIMIT, SOQL_STRING_LIMIT
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id, is_api_name

MATCH_RULES = ("Name", "EmailDomain", "Phone", "SKU")
# The rules each target object can use (the QB Setup app offers the same); others are ignored.
RULES_BY_TARGET = {
    "Account": ("Name", "EmailDomain", "Phone"),
    "Product2": ("SKU", "Name"),
}
DEFAULT_RULES = ("Name",)  # a target not listed above: only its Name can be compared
# The contract's QB_Match_Review__c.Candidate_Ids__c holds at most 20 ids.
MAX_CANDIDATES = 20

NAME_FIELD = "Name"
PHONE_FIELD = "Phone"
WEBSITE_FIELD = "Website"
SKU_FIELD = "ProductCode"
# A QuickBooks email path (`PrimaryEmailAddr.Address`): the field it is mapped to is the email.
_EMAIL_PATH = re.compile(r"(?:^|\.)\w*EmailAddr\.Address$")

# Free and ISP mail domains shared by unrelated people: a match on them is no evidence.
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "hotmail.com",
        "hotmail.co.uk", "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com",
        "mac.com", "protonmail.com", "proton.me", "gmx.com", "gmx.net", "gmx.de", "web.de",
        "mail.com", "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com",
        "126.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net", "btinternet.com",
        "orange.fr", "free.fr", "t-online.de", "fastmail.com", "hey.com",
    }
)  # fmt: skip

MIN_PHONE_DIGITS = 7


# -- normalisation (pure) -------------------------------------------------------------------


def name_key(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().casefold()


def phone_key(value: Any) -> str | None:
    if not isinstance(value, str | int):
        return None
    digits = "".join(c for c in str(value) if c.isdigit())
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def domain_key(value: Any) -> str | None:
    """The domain of an email address or a web address, lower-case, without `www.`; None for a
    public webmail domain or something that has no domain."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    if "@" in text and "://" not in text:
        host = text.rsplit("@", 1)[1]
    else:
        host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
        host = re.split(r"[/?#]", host, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    host = host.strip().strip(".").removeprefix("www.")
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+", host):
        return None
    return None if host in PUBLIC_MAIL_DOMAINS else host


def sku_key(value: Any) -> str | None:
    return name_key(value)


def phone_forms(value: Any) -> list[str]:
    """The written forms of a number a query asks for (see the module docstring)."""
    digits = phone_key(value)
    if digits is None:
        return []
    forms = [str(value).strip(), digits]
    if len(digits) == 10:
        a, b, c = digits[:3], digits[3:6], digits[6:]
        forms += [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}", "1" + digits]
    return list(dict.fromkeys(forms))


# -- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchRules:
    """The usable rules of one mapping and the Salesforce fields they read."""

    target: str
    external_id_field: str
    rules: tuple[str, ...]
    email_field: str | None = None  # the target field the QuickBooks email is mapped to

    @property
    def fields(self) -> tuple[str, ...]:
        """The candidate fields a query selects."""
        wanted = ["Id", self.external_id_field]
        for rule in self.rules:
            if rule == "Name":
                wanted.append(NAME_FIELD)
            elif rule == "Phone":
                wanted.append(PHONE_FIELD)
            elif rule == "SKU":
                wanted.append(SKU_FIELD)
            elif rule == "EmailDomain":
                wanted.append(WEBSITE_FIELD)
                if self.email_field:
                    wanted.append(self.email_field)
        return tuple(dict.fromkeys(wanted))


def parse_match_rules(value: Any) -> tuple[tuple[str, ...], list[str]]:
    """Match_Rules__c (a multi-select picklist: `Name;Phone`) as rule names, and a message for
    each value the middleware does not know (left out)."""
    if not isinstance(value, str):
        return (), []
    rules, unknown = [], []
    for part in value.split(";"):
        name = part.strip()
        if not name:
            continue
        if name in MATCH_RULES:
            rules.append(name)
        else:
            unknown.append(f"unknown match rule {name!r} in Match_Rules__c; left out")
    return tuple(dict.fromkeys(rules)), unknown


def rules_for(mapping: ObjectMapping) -> MatchRules | None:
    """The rules `mapping` can use on its target, or None when it matches nothing."""
    usable = RULES_BY_TARGET.get(mapping.salesforce_object, DEFAULT_RULES)
    rules = tuple(rule for rule in mapping.match_rules if rule in usable)
    if not rules:
        return None
    email = next(
        (
            fm.salesforce_field
            for fm in mapping.field_mappings
            if _EMAIL_PATH.search(fm.qb_field)
            and fm.salesforce_field != WEBSITE_FIELD
            and is_api_name(fm.salesforce_field)
        ),
        None,
    )
    return MatchRules(mapping.salesforce_object, mapping.external_id_field, rules, email)


def _get(fields: Mapping[str, Any], name: str | None) -> Any:
    if name is None:
        return None
    if name in fields:
        return fields[name]
    lowered = name.lower()
    return next((v for k, v in fields.items() if k.lower() == lowered), None)


def record_keys(rules: MatchRules, fields: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each rule's keys for one record (mapped body or candidate); a rule without keys is absent."""
    keys: dict[str, set[str]] = {}
    for rule in rules.rules:
        if rule == "Name":
            found = {name_key(_get(fields, NAME_FIELD))}
        elif rule == "Phone":
            found = {phone_key(_get(fields, PHONE_FIELD))}
        elif rule == "SKU":
            found = {sku_key(_get(fields, SKU_FIELD))}
        else:
            found = {
                domain_key(_get(fields, WEBSITE_FIELD)),
                domain_key(_get(fields, rules.email_field)),
            }
        found.discard(None)
        if found:
            keys[rule] = found  # type: ignore[assignment]
    return keys


# -- the decision (pure) ------------------------------------------------------------------------


@dataclass
class MatchPlan:
    """A page's decisions: QuickBooks id → the Salesforce record to link, or the candidates an
    admin chooses from; every other record is created. `matched_by` names the rules that found
    each linked or ambiguous record's candidates (`Name; Phone`)."""

    links: dict[str, str] = field(default_factory=dict)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)
    matched_by: dict[str, str] = field(default_factory=dict)


def plan(
    rules: MatchRules,
    bodies_by_qb_id: Mapping[str, Mapping[str, Any]],
    candidates: Iterable[Mapping[str, Any]],
) -> MatchPlan:
    """Link, ambiguous or create for each body, from the candidates (blank external id)."""
    index: dict[tuple[str, str], set[str]] = {}
    for candidate in candidates:
        if _get(candidate, rules.external_id_field) not in (None, ""):
            continue
        record_id = candidate.get("Id")
        if not record_id:
            continue
        for rule, keys in record_keys(rules, candidate).items():
            for key in keys:
                index.setdefault((rule, key), set()).add(record_id)
    result = MatchPlan()
    best: dict[str, tuple[list[str], list[str]]] = {}
    for qb_id, body in bodies_by_qb_id.items():
        matched: dict[str, set[str]] = {}
        for rule, keys in record_keys(rules, body).items():
            for key in keys:
                for record_id in index.get((rule, key), ()):
                    matched.setdefault(record_id, set()).add(rule)
        if not matched:
            continue
        weight = max(len(found) for found in matched.values())
        top = sorted(i for i, found in matched.items() if len(found) == weight)
        by = [r for r in rules.rules if any(r in matched[i] for i in top)]
        best[qb_id] = (top, by)
    claims: dict[str, int] = {}
    for top, _ in best.values():
        if len(top) == 1:
            claims[top[0]] = claims.get(top[0], 0) + 1
    for qb_id, (top, by) in best.items():
        result.matched_by[qb_id] = "; ".join(by)
        if len(top) == 1 and claims[top[0]] == 1:
            result.links[qb_id] = top[0]
        else:
            result.ambiguous[qb_id] = top[:MAX_CANDIDATES]
    return result


# -- the query ----------------------------------------------------------------------------------


def _escaped(value: str) -> str:
    """`value` for inside a quoted SOQL string (SOQL guide, "Quoted String Escape Sequences")."""
    for raw, escape in (
        ("\\", "\\\\"), ("'", "\\'"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"),
        ("\t", "\\t"), ("\b", "\\b"), ("\f", "\\f"),
    ):  # fmt: skip
        value = value.replace(raw, escape)
    return value


def soql_string(value: str) -> str:
    """`value` as a quoted SOQL string literal."""
    return f"'{_escaped(value)}'"


def like_pattern(prefix: str, value: str, suffix: str) -> str:
    """A quoted LIKE pattern: `prefix` and `suffix` wildcards around `value`, whose own `%` and
    `_` are escaped to match themselves."""
    literal = _escaped(value).replace("%", "\\%").replace("_", "\\_")
    return f"'{prefix}{literal}{suffix}'"


def _usable(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v and len(v) <= SOQL_STRING_LIMIT})


def _conditions(rules: MatchRules, bodies: Sequence[Mapping[str, Any]]) -> list[str]:
    """The OR-ed conditions that find every candidate of `bodies` (none: nothing to look for)."""
    conditions = []
    for rule in rules.rules:
        if rule == "Name":
            names = _usable(
                str(_get(b, NAME_FIELD)).strip() for b in bodies if name_key(_get(b, NAME_FIELD))
            )
            if names:
                conditions.append(f"{NAME_FIELD} IN ({', '.join(map(soql_string, names))})")
        elif rule == "SKU":
            skus = _usable(
                str(_get(b, SKU_FIELD)).strip() for b in bodies if sku_key(_get(b, SKU_FIELD))
            )
            if skus:
                conditions.append(f"{SKU_FIELD} IN ({', '.join(map(soql_string, skus))})")
        elif rule == "Phone":
            forms = _usable(form for b in bodies for form in phone_forms(_get(b, PHONE_FIELD)))
            if forms:
                conditions.append(f"{PHONE_FIELD} IN ({', '.join(map(soql_string, forms))})")
        else:
            domains = _usable(
                key for b in bodies for key in record_keys(rules, b).get("EmailDomain", ())
            )
            for domain in domains:
                # `%acme.com%` also finds `shop.acme.com.au`; the decision compares domains.
                conditions.append(f"{WEBSITE_FIELD} LIKE {like_pattern('%', domain, '%')}")
                if rules.email_field:
                    conditions.append(
                        f"{rules.email_field} LIKE {like_pattern('%', '@' + domain, '')}"
                    )
    return conditions


def _statement(rules: MatchRules, conditions: list[str], linked: list[str]) -> str:
    # Names are API names (checked when the configuration is read), values are escaped literals.
    ext = rules.external_id_field
    where = f"{ext} = null AND ({' OR '.join(conditions)})"
    if linked:
        # SOQL wants the parentheses where AND and OR mix (SOQL guide, "Logical Operators").
        where = f"({where}) OR {ext} IN ({', '.join(map(soql_string, linked))})"
    return f"SELECT {', '.join(rules.fields)} FROM {rules.target} WHERE {where}"  # noqa: S608


def candidate_queries(
    rules: MatchRules,
    bodies: Sequence[Mapping[str, Any]],
    limit: int = SOQL_STATEMENT_LIMIT,
    *,
    linked: bool = False,
) -> list[str]:
    """SOQL statements (each at most `limit` characters) that together find every candidate of
    `bodies`: one for a page unless its values do not fit, then the page is halved. With
    `linked`, they also find the records that hold one of the bodies' external ids already."""
    conditions = _conditions(rules, bodies)
    if not conditions:
        return []
    keys = _usable(str(_get(b, rules.external_id_field) or "") for b in bodies) if linked else []
    statement = _statement(rules, conditions, keys)
    if len(statement) <= limit:
        return [statement]
    if len(bodies) == 1:
        raise ValueError(f"one record's match query is {len(statement)} characters long")
    half = len(bodies) // 2
    return candidate_queries(rules, bodies[:half], limit, linked=linked) + candidate_queries(
        rules, bodies[half:], limit, linked=linked
    )


# A job whose target holds fewer unlinked records than one query answer carries ("the maximum
# result size is 2,000", Help article 000386264) reads them all with one query on its first page
# and plans every later page in memory: one call a job instead of one a page.
CANDIDATE_PAGE = 2_000


class Candidates:
    """One job's candidates, read once (`plan_page(..., candidates=)`) when they fit one query
    answer; else each page queries its own. Records linked by a page leave the set (they have an
    external id now). A record typed into Salesforce while the job runs is not seen by it."""

    def __init__(self) -> None:
        self._rules: MatchRules | None = None
        self._records: dict[str, Mapping[str, Any]] | None = None

    def records(self, client: Salesforce, rules: MatchRules) -> list[Mapping[str, Any]] | None:
        """Every unlinked record of the target, or None when there are too many to hold."""
        if rules != self._rules:
            statement = (
                f"SELECT {', '.join(rules.fields)} FROM {rules.target} "  # noqa: S608
                f"WHERE {rules.external_id_field} = null LIMIT {CANDIDATE_PAGE}"
            )
            rows = client.query_all(statement)
            self._rules = rules
            self._records = {row["Id"]: row for row in rows} if len(rows) < CANDIDATE_PAGE else None
        return None if self._records is None else list(self._records.values())

    def linked(self, record_ids: Iterable[str]) -> None:
        if self._records is not None:
            for record_id in record_ids:
                self._records.pop(record_id, None)


def plan_page(
    client: Salesforce,
    mapping: ObjectMapping,
    bodies_by_qb_id: Mapping[str, Mapping[str, Any]],
    candidates: Candidates | None = None,
) -> MatchPlan:
    """The match decisions for one page of mapped bodies (QuickBooks id → Salesforce fields, as
    `MappedRecord.fields`): no call when the mapping has no usable rule or nothing to compare;
    with the job's `candidates` held in memory none either after its first page; else one
    Composite call of candidate queries (`SalesforceError` propagates)."""
    rules = rules_for(mapping)
    if rules is None or not bodies_by_qb_id:
        return MatchPlan()
    held = candidates.records(client, rules) if candidates is not None else None
    if held is not None:
        result = plan(rules, bodies_by_qb_id, held)
        candidates.linked(result.links.values())  # type: ignore[union-attr]
        return result
    statements = candidate_queries(rules, list(bodies_by_qb_id.values()))
    if not statements:
        return MatchPlan()
    found = [record for records in client.query_many(statements) for record in records]
    return plan(rules, bodies_by_qb_id, found)


def plan_creates(
    client: Salesforce,
    mapping: ObjectMapping,
    bodies_by_qb_id: Mapping[str, Mapping[str, Any]],
) -> MatchPlan:
    """Real time's match decisions for records written for the first time as far as the store
    knows (no applied version): no call when the mapping has no usable rule or nothing to
    compare, else one Composite call (`SalesforceError` propagates). Applied versions are purged
    after `purge_versions_days`, so the same query also finds the records that hold one of the
    bodies' external ids already: those are updates, never matched (setting their external id
    on a second record would break its uniqueness)."""
    rules = rules_for(mapping)
    if rules is None or not bodies_by_qb_id:
        return MatchPlan()
    statements = candidate_queries(rules, list(bodies_by_qb_id.values()), linked=True)
    if not statements:
        return MatchPlan()
    found = [record for records in client.query_many(statements) for record in records]
    present = {_get(record, rules.external_id_field) for record in found} - {None, ""}
    creates = {
        qb_id: body
        for qb_id, body in bodies_by_qb_id.items()
        if _get(body, rules.external_id_field) not in present
    }
    return plan(rules, creates, found)


def mapped_bodies(
    records: Mapping[str, Mapping[str, Any]],
    mapping: ObjectMapping,
    describe: SObjectDescribe,
    realm_id: str,
    parents: ParentTargets,
) -> dict[str, dict[str, Any]]:
    """QuickBooks id → the Salesforce fields matching compares; a record that cannot be mapped
    is left out (the writer fails it with the reason)."""
    bodies: dict[str, dict[str, Any]] = {}
    for entity_id, record in records.items():
        try:
            bodies[entity_id] = build_record(record, mapping, describe, realm_id, parents).fields
        except MappingError:
            continue
    return bodies


def link_matches(
    client: Salesforce, realm_id: str, mapping: ObjectMapping, links: Mapping[str, str]
) -> dict[str, Outcome]:
    """Give each matched Salesforce record (QuickBooks id → record id) the QuickBooks record's
    external id, so the upsert that follows updates it instead of creating a duplicate; the
    outcomes of the links Salesforce refused (200 a call)."""
    wanted = list(links)
    bodies = [
        {"Id": links[i], mapping.external_id_field: external_id(realm_id, mapping.qb_object, i)}
        for i in wanted
    ]
    refused: dict[str, Outcome] = {}
    for index, result in call_in_chunks(
        list(range(len(bodies))),
        lambda chunk: client.update_collection(
            [bodies[i] for i in chunk], mapping.salesforce_object
        ),
    ):
        if isinstance(result, SalesforceError) or not result.success:
            refused[wanted[index]] = from_salesforce(result, "linking failed: ")
    return refused
