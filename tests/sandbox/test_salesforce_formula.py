"""The Salesforce emulator's formula evaluator: HYPERLINK, as the sync log's Salesforce_Record__c
uses it (the API returns a hyperlink formula's value as the anchor element)."""

from __future__ import annotations

from qbsync_sandbox.emulators.salesforce import formula

LINK = (
    'IF(ISBLANK(Salesforce_Record_Id__c), "", HYPERLINK("/" & Salesforce_Record_Id__c, '
    'BLANKVALUE(Record_Name__c, Salesforce_Record_Id__c), "_self"))'
)


def value(source: str, **fields) -> object:
    return formula.evaluate(formula.parse(source), formula.Context(resolve=fields.get))


def test_hyperlink_shows_the_name_or_the_id_and_escapes_it():
    record_id = "001000000000001AAA"

    assert value(LINK, Salesforce_Record_Id__c=record_id, Record_Name__c="Bob & <Co>") == (
        f'<a href="/{record_id}" target="_self">Bob &amp; &lt;Co&gt;</a>'
    )
    assert value(LINK, Salesforce_Record_Id__c=record_id, Record_Name__c=None) == (
        f'<a href="/{record_id}" target="_self">{record_id}</a>'
    )
    assert value(LINK, Salesforce_Record_Id__c=None, Record_Name__c="Bob") == ""


def test_hyperlink_opens_a_new_window_unless_told():
    assert value('HYPERLINK("https://example.org", "Example")') == (
        '<a href="https://example.org" target="_blank">Example</a>'
    )
