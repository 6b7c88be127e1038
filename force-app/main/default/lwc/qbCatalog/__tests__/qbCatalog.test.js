import {
    CATALOG,
    entityNames,
    getEntity,
    getFields,
    getRecommended
} from 'c/qbCatalog';

describe('c-qb-catalog', () => {
    it('lists every entity in catalog order', () => {
        expect(entityNames()).toEqual(CATALOG.entities.map((e) => e.name));
        expect(entityNames()).toEqual(
            expect.arrayContaining(['Customer', 'Vendor', 'Item', 'Invoice'])
        );
    });

    it('finds entities whatever the case, as CloudEvents types spell them', () => {
        expect(getEntity('salesreceipt').name).toBe('SalesReceipt');
        expect(getEntity('CUSTOMER').name).toBe('Customer');
        expect(getEntity('Nope')).toBeUndefined();
        expect(getEntity(undefined)).toBeUndefined();
    });

    it('returns a copy of the fields, so a component cannot change the catalog', () => {
        const fields = getFields('Customer');
        expect(fields.map((f) => f.path)).toEqual(
            expect.arrayContaining(['DisplayName', 'BillAddr.City', 'Active'])
        );
        fields.pop();
        expect(getFields('Customer')).toHaveLength(fields.length + 1);
        expect(getFields('Nope')).toEqual([]);
    });

    it('offers the recommended mappings only with catalog fields', () => {
        const recommended = getRecommended();
        expect(recommended.map((r) => r.qbObject)).toEqual(
            expect.arrayContaining(['Customer', 'Vendor', 'Item'])
        );
        recommended.forEach((mapping) => {
            const paths = getFields(mapping.qbObject).map((f) => f.path);
            mapping.fields.forEach((pair) => {
                expect(paths).toContain(pair.qbField);
            });
        });
    });
});
