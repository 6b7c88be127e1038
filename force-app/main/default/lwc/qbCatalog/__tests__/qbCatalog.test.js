import { loadCatalog } from 'c/qbCatalog';
import getCatalog from '@salesforce/apex/QBCatalogController.getCatalog';

jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);

const {
    CATALOG_JSON
} = require('../../../../../test/jest-mocks/apex/getCatalog');
const DOCUMENT = JSON.parse(CATALOG_JSON);

describe('c-qb-catalog', () => {
    afterEach(() => {
        jest.clearAllMocks();
    });

    it('reads the catalog through the cacheable Apex method', async () => {
        await loadCatalog();
        expect(getCatalog).toHaveBeenCalledTimes(1);
    });

    it('lists every entity in catalog order', async () => {
        const catalog = await loadCatalog();
        expect(catalog.entityNames()).toEqual(
            DOCUMENT.entities.map((e) => e.name)
        );
        expect(catalog.entityNames()).toEqual(
            expect.arrayContaining(['Customer', 'Vendor', 'Item', 'Invoice'])
        );
    });

    it('finds entities whatever the case, as CloudEvents types spell them', async () => {
        const catalog = await loadCatalog();
        expect(catalog.getEntity('salesreceipt').name).toBe('SalesReceipt');
        expect(catalog.getEntity('CUSTOMER').name).toBe('Customer');
        expect(catalog.getEntity('Nope')).toBeUndefined();
        expect(catalog.getEntity(undefined)).toBeUndefined();
    });

    it('returns a copy of the fields, so a component cannot change the catalog', async () => {
        const catalog = await loadCatalog();
        const fields = catalog.getFields('Customer');
        expect(fields.map((f) => f.path)).toEqual(
            expect.arrayContaining(['DisplayName', 'BillAddr.City', 'Active'])
        );
        fields.pop();
        expect(catalog.getFields('Customer')).toHaveLength(fields.length + 1);
        expect(catalog.getFields('Nope')).toEqual([]);
    });

    it('offers the recommended mappings only with catalog fields', async () => {
        const catalog = await loadCatalog();
        const recommended = catalog.getRecommended();
        expect(recommended.map((r) => r.qbObject)).toEqual(
            expect.arrayContaining(['Customer', 'Vendor', 'Item'])
        );
        recommended.forEach((mapping) => {
            const paths = catalog
                .getFields(mapping.qbObject)
                .map((f) => f.path);
            mapping.fields.forEach((pair) => {
                expect(paths).toContain(pair.qbField);
            });
        });
    });

    it('rejects with the Apex error when the catalog cannot be read', async () => {
        const error = {
            body: { message: 'The QuickBooks object catalog is missing' }
        };
        getCatalog.mockRejectedValueOnce(error);
        await expect(loadCatalog()).rejects.toBe(error);
    });
});
