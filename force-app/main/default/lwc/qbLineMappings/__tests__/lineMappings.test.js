import {
    fieldTableTitle,
    lineDraftComplete,
    lineMappingRecord,
    lineRows,
    mappingSource,
    suggestedLine,
    unmappedCollections
} from '../lineMappings';
import { qbObjectLabel } from 'c/qbCatalog';

const PRODUCT_LINES = 'Line[DetailType=SalesItemLineDetail]';
const DISCOUNT_LINES = 'Line[DetailType=DiscountLineDetail]';
const COLLECTIONS = [
    { path: PRODUCT_LINES, label: 'Product and service lines' },
    { path: DISCOUNT_LINES, label: 'Discount lines' }
];
const RECOMMENDED = [
    {
        qbObject: 'Invoice',
        lines: [
            {
                collectionPath: PRODUCT_LINES,
                salesforceObject: 'QB_Transaction_Line__c',
                parentField: 'Transaction__c',
                externalIdField: 'QB_External_Id__c'
            }
        ]
    }
];

describe('line mappings', () => {
    it('offers only the collections no line mapping covers', () => {
        const mapped = [{ Collection_Path__c: PRODUCT_LINES }];
        expect(unmappedCollections(COLLECTIONS, mapped)).toEqual([
            {
                label: `Discount lines (${DISCOUNT_LINES})`,
                value: DISCOUNT_LINES
            }
        ]);
    });

    it('prefills a draft from the recommended line of that collection', () => {
        expect(suggestedLine(RECOMMENDED, 'Invoice', PRODUCT_LINES)).toEqual({
            collectionPath: PRODUCT_LINES,
            salesforceObject: 'QB_Transaction_Line__c',
            parentField: 'Transaction__c',
            externalIdField: 'QB_External_Id__c'
        });
    });

    it('leaves object and parent field to the admin without a recommendation', () => {
        expect(suggestedLine(RECOMMENDED, 'Estimate', DISCOUNT_LINES)).toEqual({
            collectionPath: DISCOUNT_LINES,
            salesforceObject: '',
            parentField: '',
            externalIdField: 'QB_External_Id__c'
        });
        expect(
            suggestedLine(undefined, 'Invoice', PRODUCT_LINES).salesforceObject
        ).toBe('');
    });

    it('needs collection, object, parent field and external id before adding', () => {
        const draft = suggestedLine(RECOMMENDED, 'Invoice', PRODUCT_LINES);
        expect(lineDraftComplete(draft)).toBe(true);
        for (const name of Object.keys(draft)) {
            expect(lineDraftComplete({ ...draft, [name]: '' })).toBe(false);
        }
    });

    it('saves a draft as a line mapping under its parent', () => {
        const draft = suggestedLine(RECOMMENDED, 'Invoice', PRODUCT_LINES);
        expect(lineMappingRecord('a01PARENT', draft)).toEqual({
            Parent_Mapping__c: 'a01PARENT',
            Collection_Path__c: PRODUCT_LINES,
            Salesforce_Object__c: 'QB_Transaction_Line__c',
            External_Id_Field__c: 'QB_External_Id__c',
            Parent_Field__c: 'Transaction__c'
        });
    });

    it('marks the line being edited and counts its field mappings', () => {
        const rows = lineRows(
            [
                {
                    Id: 'L1',
                    Collection_Path__c: PRODUCT_LINES,
                    Field_Mapping_Count__c: 4
                },
                { Id: 'L2', Collection_Path__c: DISCOUNT_LINES }
            ],
            'L2'
        );
        expect(rows.map((row) => [row.count, row.editing])).toEqual([
            [4, false],
            [0, true]
        ]);
        expect(rows[0].deleteLabel).toBe(
            `Delete the line mapping of ${PRODUCT_LINES}`
        );
    });

    it('titles the field table for the header or for a line mapping', () => {
        expect(
            fieldTableTitle({
                QB_Object__c: 'Invoice',
                Salesforce_Object__c: 'QB_Transaction__c'
            })
        ).toBe('Fields of Invoice → QB_Transaction__c');
        expect(
            fieldTableTitle({
                Parent_Mapping__c: 'a01PARENT',
                Collection_Path__c: PRODUCT_LINES,
                Salesforce_Object__c: 'QB_Transaction_Line__c'
            })
        ).toBe(`Fields of the lines ${PRODUCT_LINES} → QB_Transaction_Line__c`);
    });

    it('names the QuickBooks object by its catalog label, its API name when unknown', () => {
        const catalog = {
            getEntity(name) {
                return name === 'SalesReceipt'
                    ? { label: 'Sales Receipt' }
                    : undefined;
            }
        };
        const receipt = {
            QB_Object__c: 'SalesReceipt',
            Salesforce_Object__c: 'QB_Transaction__c'
        };
        expect(fieldTableTitle(receipt, catalog)).toBe(
            'Fields of Sales Receipt → QB_Transaction__c'
        );
        expect(mappingSource(receipt, catalog)).toBe('Sales Receipt');
        expect(
            mappingSource(
                {
                    ...receipt,
                    Parent_Mapping__c: 'a01PARENT',
                    Collection_Path__c: PRODUCT_LINES
                },
                catalog
            )
        ).toBe(`Sales Receipt ${PRODUCT_LINES}`);
        expect(qbObjectLabel(catalog, 'NewEntity')).toBe('NewEntity');
        expect(qbObjectLabel(undefined, 'SalesReceipt')).toBe('SalesReceipt');
    });
});
