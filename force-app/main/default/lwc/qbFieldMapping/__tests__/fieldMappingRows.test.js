import { fieldOptions, rowViews } from '../fieldMappingRows';
import { blankRow, recordOf, rowOf } from '../fieldMappingRecords';

const TARGET = {
    fields: {
        Name: { apiName: 'Name', label: 'Account Name', dataType: 'String' },
        NumberOfEmployees: {
            apiName: 'NumberOfEmployees',
            label: 'Employees',
            dataType: 'Int'
        }
    }
};
const QB_FIELDS = [
    { path: 'DisplayName', label: 'Display Name', type: 'string' },
    { path: 'Balance', label: 'Balance', type: 'decimal' }
];

describe('field table rows', () => {
    it('numbers rows and labels each control by its row', () => {
        const [first, second] = rowViews(
            [
                { key: 'a', qbField: 'DisplayName', salesforceField: 'Name' },
                { key: 'b', qbField: undefined, salesforceField: undefined }
            ],
            QB_FIELDS,
            TARGET
        );
        expect(first.number).toBe(1);
        expect(second.removeLabel).toBe('Remove row 2');
        expect(second.qbLabel).toBe('QuickBooks field, row 2');
        expect(second.hint).toBeUndefined();
    });

    it('shows the type hint of a mapped pair with its level style', () => {
        const [row] = rowViews(
            [{ key: 'a', qbField: 'DisplayName', salesforceField: 'Name' }],
            QB_FIELDS,
            TARGET
        );
        expect(row.hint).toEqual(expect.any(String));
        expect(row.hintClass).toMatch(/^slds-text-body_small slds-text-color_/);
    });

    it('writes options as "Label (name)" with the name as value', () => {
        expect(fieldOptions(QB_FIELDS, 'path')[1]).toEqual({
            label: 'Balance (Balance)',
            value: 'Balance'
        });
        expect(
            fieldOptions(Object.values(TARGET.fields), 'apiName')[0]
        ).toEqual({
            label: 'Account Name (Name)',
            value: 'Name'
        });
    });

    it('gives every new row a key of its own', () => {
        const keys = new Set([blankRow().key, blankRow().key, blankRow().key]);
        expect(keys.size).toBe(3);
        expect(blankRow()).toMatchObject({ transform: '', defaultValue: '' });
    });

    it('saves a row as the record it was read from', () => {
        const record = {
            Id: 'a02X',
            QB_Field__c: 'DisplayName',
            Salesforce_Field__c: 'Name',
            Transform__c: 'Trim',
            Default_Value__c: null
        };
        expect(recordOf(rowOf(record))).toEqual(record);
        expect(
            recordOf({ ...blankRow(), qbField: 'Balance' })
        ).not.toHaveProperty('Id');
    });
});
