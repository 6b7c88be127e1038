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
