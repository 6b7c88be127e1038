// The match rules a historical sync may use per target object: QBMatchRules.RULES_BY_TARGET
// (Apex refuses any other), in the order QB_Object_Mapping__c.Match_Rules__c defines its values.
const LABELS = {
    Name: 'Same name',
    EmailDomain: 'Same email domain (website)',
    Phone: 'Same phone',
    SKU: 'Same SKU (product code)'
};
const RULES_BY_TARGET = {
    account: ['Name', 'EmailDomain', 'Phone'],
    product2: ['SKU', 'Name']
};
const FIELD_ORDER = ['Name', 'EmailDomain', 'Phone', 'SKU'];

/** Checkbox options for a target object; empty when it has no rules. */
export function ruleOptions(salesforceObject) {
    const rules = RULES_BY_TARGET[(salesforceObject || '').toLowerCase()] || [];
    return rules.map((value) => ({ label: LABELS[value], value }));
}

/** The stored multi-select value ("Name;Phone") as a list of rules. */
export function parseRules(text) {
    return (text || '').split(';').filter(Boolean);
}

/** Rules as the multi-select stores them, in the field's order; null when none. */
export function formatRules(rules) {
    const chosen = FIELD_ORDER.filter((rule) => (rules || []).includes(rule));
    return chosen.length ? chosen.join(';') : null;
}
