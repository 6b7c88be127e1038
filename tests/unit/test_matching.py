"""Matching before creating (qbsync.matching): normalisation, rules, the decision, the queries."""

from __future__ import annotations

import pytest

from qbsync.mapping import FieldMapping, ObjectMapping
from qbsync.matching import (
    CANDIDATE_PAGE,
    Candidates,
    MatchRules,
    candidate_queries,
    domain_key,
    like_pattern,
    name_key,
    parse_match_rules,
    phone_forms,
    phone_key,
    plan,
    plan_creates,
    plan_page,
    rules_for,
    soql_string,
)

EXT = "QB_External_Id__c"


def account_mapping(rules: tuple[str, ...], *, email: bool = False) -> ObjectMapping:
    fields = [
        FieldMapping("DisplayName", "Name"),
        FieldMapping("PrimaryPhone.FreeFormNumber", "Phone"),
        FieldMapping("WebAddr.URI", "Website"),
    ]
    if email:
        fields.append(FieldMapping("PrimaryEmailAddr.Address", "Email__c"))
    return ObjectMapping(
        "Customer", "Account", EXT, field_mappings=tuple(fields), match_rules=rules
    )


def account(record_id: str, **fields) -> dict:
    return {"Id": record_id, EXT: None, **fields}


# -- normalisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("  Acme Corp ", "acme corp"),
        ("ACME corp", "acme corp"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_name_key_is_trimmed_and_case_insensitive(value, key) -> None:
    assert name_key(value) == key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("(555) 123-4567", "5551234567"),
        ("+1 555 123 4567", "5551234567"),
        ("555.123.4567", "5551234567"),
        ("+44 20 7946 0958", "442079460958"),
        ("12-34", None),  # too short to tell people apart
        ("", None),
    ],
)
def test_phone_key_compares_digits_only(value, key) -> None:
    assert phone_key(value) == key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("bob@Acme.com", "acme.com"),
        ("https://www.acme.com/about?x=1", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("acme.com:8080/shop", "acme.com"),
        ("jane@gmail.com", None),  # public webmail matches everyone
        ("http://www.outlook.com", None),
        ("not a domain", None),
        (None, None),
    ],
)
def test_domain_key(value, key) -> None:
    assert domain_key(value) == key


def test_phone_forms_cover_the_common_written_forms() -> None:
    forms = phone_forms("555-123-4567")
    assert {"555-123-4567", "5551234567", "(555) 123-4567", "+1 555 123 4567"} <= set(forms)
    assert phone_forms("12") == []


def test_parse_match_rules_reads_the_multi_select_value() -> None:
    assert parse_match_rules("Name;Phone") == (("Name", "Phone"), [])
    rules, unknown = parse_match_rules("Name;Fax;;Name")
    assert rules == ("Name",) and unknown == [
        "unknown match rule 'Fax' in Match_Rules__c; left out"
    ]
    assert parse_match_rules(None) == ((), [])


def test_rules_for_keeps_the_rules_the_target_can_use() -> None:
    assert rules_for(account_mapping(())) is None
    assert rules_for(account_mapping(("SKU",))) is None  # SKU is for Product2
    rules = rules_for(account_mapping(("Name", "SKU", "EmailDomain"), email=True))
    assert rules is not None and rules.rules == ("Name", "EmailDomain")
    assert rules.email_field == "Email__c"
    assert rules.fields == ("Id", EXT, "Name", "Website", "Email__c")
    product = ObjectMapping("Item", "Product2", EXT, match_rules=("SKU", "Name"))
    assert rules_for(product).fields == ("Id", EXT, "ProductCode", "Name")


# -- the decision -----------------------------------------------------------------------------


NAME = MatchRules("Account", EXT, ("Name",))
NAME_PHONE = MatchRules("Account", EXT, ("Name", "Phone"))


def test_one_candidate_is_a_link_several_are_ambiguous_none_is_a_create() -> None:
    bodies = {"1": {"Name": "Acme"}, "2": {"Name": "Twin"}, "3": {"Name": "New Co"}}
    candidates = [
        account("001A", Name="ACME "),
        account("001B", Name="twin"),
        account("001C", Name="Twin"),
    ]

    result = plan(NAME, bodies, candidates)

    assert result.links == {"1": "001A"}
    assert result.ambiguous == {"2": ["001B", "001C"]}
    assert result.matched_by == {"1": "Name", "2": "Name"}


def test_a_record_with_an_external_id_is_never_a_candidate() -> None:
    linked = {**account("001A", Name="Acme"), EXT: "R-Customer-9"}
    assert plan(NAME, {"1": {"Name": "Acme"}}, [linked]).links == {}


def test_the_candidate_matching_more_rules_wins() -> None:
    bodies = {"1": {"Name": "Acme", "Phone": "555-123-4567"}}
    candidates = [
        account("001A", Name="Acme", Phone="(555) 123-4567"),
        account("001B", Name="Acme", Phone="(555) 999-0000"),
    ]
    result = plan(NAME_PHONE, bodies, candidates)
    assert result.links == {"1": "001A"} and result.matched_by == {"1": "Name; Phone"}


def test_equal_weights_on_different_rules_are_ambiguous() -> None:
    bodies = {"1": {"Name": "Acme", "Phone": "555-123-4567"}}
    candidates = [account("001A", Name="Acme"), account("001B", Name="Other", Phone="5551234567")]
    result = plan(NAME_PHONE, bodies, candidates)
    assert result.ambiguous == {"1": ["001A", "001B"]}
    assert result.matched_by == {"1": "Name; Phone"}


def test_one_record_claimed_by_two_of_the_page_is_ambiguous_for_both() -> None:
    bodies = {"1": {"Name": "Acme"}, "2": {"Name": "acme"}}
    result = plan(NAME, bodies, [account("001A", Name="Acme")])
    assert result.links == {} and result.ambiguous == {"1": ["001A"], "2": ["001A"]}


def test_email_domain_matches_website_and_email_field_but_never_webmail() -> None:
    rules = MatchRules("Account", EXT, ("EmailDomain",), "Email__c")
    bodies = {
        "1": {"Email__c": "bob@acme.com"},
        "2": {"Website": "https://globex.com"},
        "3": {"Email__c": "someone@gmail.com"},
    }
    candidates = [
        account("001A", Website="www.acme.com"),
        account("001B", Email__c="ceo@globex.com"),
        account("001C", Email__c="other@gmail.com"),
    ]
    result = plan(rules, bodies, candidates)
    assert result.links == {"1": "001A", "2": "001B"} and "3" not in result.ambiguous


def test_sku_matches_product_code() -> None:
    rules = MatchRules("Product2", EXT, ("SKU", "Name"))
    bodies = {"7": {"Name": "Widget", "ProductCode": "W-1"}}
    candidates = [
        {"Id": "01tA", EXT: None, "Name": "Widget", "ProductCode": "w-1"},
        {"Id": "01tB", EXT: None, "Name": "Widget", "ProductCode": "W-2"},
    ]
    assert plan(rules, bodies, candidates).links == {"7": "01tA"}


def test_candidate_ids_are_capped_at_twenty() -> None:
    candidates = [account(f"001{i:03d}", Name="Same") for i in range(30)]
    result = plan(NAME, {"1": {"Name": "Same"}}, candidates)
    assert len(result.ambiguous["1"]) == 20


# -- the queries --------------------------------------------------------------------------------


def test_soql_literals_are_escaped() -> None:
    assert soql_string('O\'Brien \\ "Ltd"\n') == "'O\\'Brien \\\\ \\\"Ltd\\\"\\n'"
    assert like_pattern("%", "my_shop%.com", "%") == "'%my\\_shop\\%.com%'"


def test_one_query_for_a_page_with_blank_external_id() -> None:
    rules = MatchRules("Account", EXT, ("Name", "Phone", "EmailDomain"))
    bodies = [
        {"Name": "O'Brien", "Phone": "555-123-4567", "Website": "acme.com"},
        {"Name": "  Globex "},
    ]
    (statement,) = candidate_queries(rules, bodies)
    assert statement.startswith(
        f"SELECT Id, {EXT}, Name, Phone, Website FROM Account WHERE {EXT} = null AND ("  # noqa: S608
    )
    assert "Name IN ('Globex', 'O\\'Brien')" in statement
    assert "'(555) 123-4567'" in statement
    assert "Website LIKE '%acme.com%'" in statement


def test_a_page_whose_values_do_not_fit_is_split() -> None:
    bodies = [{"Name": f"Customer number {i:05d}"} for i in range(1000)]
    statements = candidate_queries(NAME, bodies, limit=5_000)
    assert len(statements) > 1 and all(len(s) <= 5_000 for s in statements)
    assert sum(s.count("'Customer number") for s in statements) == 1000
    assert candidate_queries(NAME, [{"Phone": "1"}]) == []


class FakeSalesforce:
    def __init__(self, records: list[dict]) -> None:
        self.records = records
        self.statements: list[list[str]] = []

    def query_many(self, statements):
        self.statements.append(list(statements))
        return [self.records] + [[] for _ in statements[1:]]

    def query_all(self, statement):
        self.statements.append([statement])
        return [r for r in self.records if r.get(EXT) is None]


def test_plan_page_makes_no_call_without_rules_or_values() -> None:
    client = FakeSalesforce([])
    assert plan_page(client, account_mapping(()), {"1": {"Name": "Acme"}}).links == {}
    assert plan_page(client, account_mapping(("Phone",)), {"1": {"Name": "Acme"}}).links == {}
    assert client.statements == []


def test_plan_page_queries_once_and_decides() -> None:
    client = FakeSalesforce([account("001A", Name="Acme")])
    result = plan_page(
        client, account_mapping(("Name",)), {"1": {"Name": "Acme"}, "2": {"Name": "B"}}
    )
    assert result.links == {"1": "001A"} and len(client.statements) == 1


def test_a_job_with_few_candidates_reads_them_once_and_forgets_the_linked() -> None:
    client = FakeSalesforce([account("001A", Name="Acme"), account("001B", Name="Beta")])
    held, mapping = Candidates(), account_mapping(("Name",))

    first = plan_page(client, mapping, {"1": {"Name": "Acme"}}, held)
    second = plan_page(client, mapping, {"2": {"Name": "acme"}, "3": {"Name": "Beta"}}, held)

    assert first.links == {"1": "001A"}
    assert second.links == {"3": "001B"}  # 001A is linked to 1 now: 2 is created
    (only,) = client.statements
    assert only == [f"SELECT Id, {EXT}, Name FROM Account WHERE {EXT} = null LIMIT 2000"]  # noqa: S608


def test_a_job_with_too_many_candidates_queries_each_page() -> None:
    many = [account(f"001{i:05d}", Name=f"N{i}") for i in range(CANDIDATE_PAGE)]
    client = FakeSalesforce(many)
    held, mapping = Candidates(), account_mapping(("Name",))
    plan_page(client, mapping, {"1": {"Name": "N1"}}, held)
    plan_page(client, mapping, {"2": {"Name": "N2"}}, held)
    assert len(client.statements) == 3  # the full read once, then one query a page
    assert "IN ('N2')" in client.statements[2][0]


# -- real time's first writes --------------------------------------------------------------------


def test_a_first_writes_query_also_finds_the_external_ids_salesforce_holds() -> None:
    rules = MatchRules("Account", EXT, ("Name",))
    bodies = [{EXT: "r-Customer-1", "Name": "Acme"}, {EXT: "r-Customer-2", "Name": "O'Brien"}]
    (statement,) = candidate_queries(rules, bodies, linked=True)
    assert statement == (
        f"SELECT Id, {EXT}, Name FROM Account WHERE ({EXT} = null AND "  # noqa: S608
        f"(Name IN ('Acme', 'O\\'Brien'))) OR {EXT} IN ('r-Customer-1', 'r-Customer-2')"
    )
    halves = candidate_queries(rules, bodies, limit=len(statement) - 1, linked=True)
    assert [h.count("r-Customer-") for h in halves] == [1, 1]  # each half asks for its own ids


def test_plan_creates_makes_no_call_without_rules_or_values() -> None:
    client = FakeSalesforce([])
    body = {EXT: "r-Customer-1", "Name": "Acme"}
    assert plan_creates(client, account_mapping(()), {"1": body}).links == {}
    assert plan_creates(client, account_mapping(("Phone",)), {"1": body}).links == {}
    assert plan_creates(client, account_mapping(("Name",)), {}).links == {}
    assert client.statements == []


def test_plan_creates_links_ambiguates_and_leaves_records_salesforce_holds_alone() -> None:
    client = FakeSalesforce(
        [
            account("001A", Name="Acme"),
            account("001B", Name="Twin"),
            account("001C", Name="twin"),
            account("001D", Name="Held"),
            {"Id": "001E", EXT: "r-Customer-4", "Name": "Held"},  # synced long ago
        ]
    )
    bodies = {
        str(n): {EXT: f"r-Customer-{n}", "Name": name}
        for n, name in enumerate(("Acme", "Twin", "New", "Held"), start=1)
    }
    result = plan_creates(client, account_mapping(("Name",)), bodies)
    assert result.links == {"1": "001A"}
    assert result.ambiguous == {"2": ["001B", "001C"]}
    assert len(client.statements) == 1  # one Composite call for the batch
    # 4 is in Salesforce by its external id: an update, not a match for 001D.
    assert "4" not in result.links and "4" not in result.ambiguous
