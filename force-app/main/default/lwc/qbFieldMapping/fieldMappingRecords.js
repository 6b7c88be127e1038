import QB_FIELD from '@salesforce/schema/QB_Field_Mapping__c.QB_Field__c';
import SALESFORCE_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Salesforce_Field__c';
import TRANSFORM_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Transform__c';
import DEFAULT_VALUE_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Default_Value__c';

// Values of the restricted picklist Transform__c; '' stands for none.
export const TRANSFORM_OPTIONS = [
    { label: 'None', value: '' },
    { label: 'Trim', value: 'Trim' },
    { label: 'Uppercase', value: 'Uppercase' },
    { label: 'Lowercase', value: 'Lowercase' },
    { label: 'Digits Only', value: 'Digits Only' }
];

let newRowCount = 0;

/** A new, empty row of the field table, with a key no other row has. */
export function blankRow() {
    newRowCount += 1;
    return {
        key: `new-${newRowCount}`,
        qbField: undefined,
        salesforceField: undefined,
        transform: '',
        defaultValue: ''
    };
}

/** A row of the field table from a QB_Field_Mapping__c record. */
export const rowOf = (record) => ({
    key: record.Id,
    id: record.Id,
    qbField: record[QB_FIELD.fieldApiName],
    salesforceField: record[SALESFORCE_FIELD.fieldApiName],
    transform: record[TRANSFORM_FIELD.fieldApiName] || '',
    defaultValue: record[DEFAULT_VALUE_FIELD.fieldApiName] || ''
});

/** The QB_Field_Mapping__c record a row saves as. */
export const recordOf = (row) => ({
    ...(row.id ? { Id: row.id } : {}),
    [QB_FIELD.fieldApiName]: row.qbField,
    [SALESFORCE_FIELD.fieldApiName]: row.salesforceField,
    [TRANSFORM_FIELD.fieldApiName]: row.transform || null,
    [DEFAULT_VALUE_FIELD.fieldApiName]: row.defaultValue || null
});

/**
 * The saved records in the order of the rows the admin saved. Apex returns them
 * sorted by QuickBooks field: a table that re-sorted on Save had the admin remove
 * the wrong row next. A Salesforce field is mapped once in a saved set
 * (validationErrors), so it finds each record's row; stable sort keeps the rest.
 */
export function inRowOrder(records, rows) {
    const position = new Map(
        rows.map((row, index) => [row.salesforceField, index])
    );
    const at = (record) =>
        position.get(record[SALESFORCE_FIELD.fieldApiName]) ?? rows.length;
    return [...records].sort((a, b) => at(a) - at(b));
}
