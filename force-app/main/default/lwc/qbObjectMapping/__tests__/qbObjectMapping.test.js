import { createElement } from 'lwc';
import QbObjectMapping from 'c/qbObjectMapping';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getCreateableObjects from '@salesforce/apex/QBSetupController.getCreateableObjects';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import getCatalog from '@salesforce/apex/QBCatalogController.getCatalog';

// The catalog is the package's own static resource (QBSync_Catalog), as Apex serves it.
jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.getObjectMappings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.getCreateableObjects',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.saveObjectMapping',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.deleteObjectMapping',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.saveFieldMappings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const {
    CATALOG_JSON
} = require('../../../../../test/jest-mocks/apex/getCatalog');
const CATALOG = JSON.parse(CATALOG_JSON);
const recommendedFor = (qbObject) =>
    CATALOG.recommended.find((mapping) => mapping.qbObject === qbObject);
const MAPPINGS = require('./data/getObjectMappings.json');
// saveObjectMapping calls for top-level mappings (line mappings name their parent).
const topLevelSaves = () =>
    saveObjectMapping.mock.calls.filter(
        ([{ mapping }]) => !mapping.Parent_Mapping__c
    );
// A saved mapping with an id that says what it is: id-Invoice, id-Invoice:Line[…].
const savedWithId = ({ mapping }) =>
    Promise.resolve({
        ...mapping,
        Id: mapping.Parent_Mapping__c
            ? `${mapping.Parent_Mapping__c}:${mapping.Collection_Path__c}`
            : `id-${mapping.QB_Object__c}`
    });
// The recommendations the fixture's company has not mapped yet (it maps Customer and Vendor).
const MISSING = CATALOG.recommended
    .map((mapping) => mapping.qbObject)
    .filter((name) => !['Customer', 'Vendor'].includes(name));
const CREATEABLE = require('./data/getCreateableObjects.json');
const {
    asPermissionSetSees
} = require('../../../../../test/jest-mocks/packageFieldAccess');
// Account as the admin sees it: the package's own fields only as QuickBooks_Sync_Admin grants them.
const ACCOUNT_INFO = asPermissionSetSees(
    require('./data/getObjectInfoAccount.json'),
    'QuickBooks_Sync_Admin'
);
const CONTACT_INFO = require('./data/getObjectInfoContact.json');
const COMPANY_ID = 'a00000000000001AAA';
const CUSTOMER_ID = 'a01000000000001AAA';
const VENDOR_ID = 'a01000000000002AAA';

const flushPromises = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

async function render() {
    const element = createElement('c-qb-object-mapping', {
        is: QbObjectMapping
    });
    element.companyId = COMPANY_ID;
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

// The pane's own elements, then those of its save bar.
const query = (element, selector) =>
    element.shadowRoot.querySelector(selector) ||
    element.shadowRoot
        .querySelector('c-qb-save-bar')
        ?.shadowRoot.querySelector(selector) ||
    null;
// `name` is a property of lightning-combobox, not a reflected attribute.
const combobox = (element, name) =>
    Array.from(element.shadowRoot.querySelectorAll('lightning-combobox')).find(
        (candidate) => candidate.name === name
    );

async function choose(element, name, value) {
    combobox(element, name).dispatchEvent(
        new CustomEvent('change', { detail: { value } })
    );
    await flushPromises();
}

async function click(element, selector) {
    query(element, selector).click();
    await flushPromises();
}

function toastsOf(element) {
    const handler = jest.fn();
    element.addEventListener('lightning__showtoast', handler);
    return () => handler.mock.calls.map(([event]) => event.detail);
}

describe('c-qb-object-mapping', () => {
    beforeEach(() => {
        getObjectMappings.mockResolvedValue(MAPPINGS);
        getCreateableObjects.mockResolvedValue(CREATEABLE);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('lists the company mappings', async () => {
        const element = await render();

        expect(getObjectMappings).toHaveBeenCalledWith({
            companyId: COMPANY_ID
        });
        const rows = element.shadowRoot.querySelectorAll('tbody tr');
        expect(Array.from(rows).map((row) => row.dataset.row)).toEqual([
            'Customer',
            'Vendor',
            'Item'
        ]);
        expect(rows[0].textContent).toContain('Account');
        expect(rows[0].textContent).toContain('QB_External_Id__c');
        expect(rows[0].textContent).toContain('Deactivate');
    });

    it('offers only unmapped QuickBooks objects and the createable Salesforce objects', async () => {
        const element = await render();

        await click(element, '[data-id="new"]');

        const mapped = MAPPINGS.map((mapping) => mapping.QB_Object__c);
        expect(
            combobox(element, 'qbObject').options.map((option) => option.value)
        ).toEqual(
            CATALOG.entities
                .map((entity) => entity.name)
                .filter((name) => !mapped.includes(name))
        );
        expect(
            combobox(element, 'salesforceObject').options.map(
                (option) => option.value
            )
        ).toEqual(['Account', 'Contact', 'Product2']);
    });

    it('offers only the external-id fields of the chosen object', async () => {
        const element = await render();
        await click(element, '[data-id="new"]');

        await choose(element, 'salesforceObject', 'Account');
        expect(getObjectInfo.getLastConfig()).toEqual({
            objectApiName: 'Account'
        });
        getObjectInfo.emit(ACCOUNT_INFO);
        await flushPromises();

        const externalId = combobox(element, 'externalIdField');
        expect(externalId.options.map((option) => option.value)).toEqual([
            'QB_External_Id__c',
            'Legacy_Key__c'
        ]);
        expect(externalId.disabled).toBe(false);
        expect(query(element, '[data-id="no-external-id"]')).toBeNull();
    });

    it('says so when the object has no external-id field', async () => {
        const element = await render();
        await click(element, '[data-id="new"]');

        await choose(element, 'salesforceObject', 'Contact');
        getObjectInfo.emit(CONTACT_INFO);
        await flushPromises();

        expect(combobox(element, 'externalIdField').options).toEqual([]);
        expect(combobox(element, 'externalIdField').disabled).toBe(true);
        expect(
            query(element, '[data-id="no-external-id"]').textContent
        ).toContain('Contact has no external-id field');
        expect(query(element, '[data-id="save"]').disabled).toBe(true);
    });

    it('saves a new mapping for the company and reloads', async () => {
        const saved = {
            Id: 'a01000000000009AAA',
            QB_Object__c: 'Invoice',
            Salesforce_Object__c: 'Account',
            External_Id_Field__c: 'QB_External_Id__c',
            Delete_Behavior__c: 'Delete',
            Field_Mapping_Count__c: 0
        };
        saveObjectMapping.mockResolvedValue(saved);
        const element = await render();
        const toasts = toastsOf(element);
        await click(element, '[data-id="new"]');
        await choose(element, 'qbObject', 'Invoice');
        await choose(element, 'salesforceObject', 'Account');
        getObjectInfo.emit(ACCOUNT_INFO);
        await flushPromises();
        await choose(element, 'externalIdField', 'QB_External_Id__c');
        await choose(element, 'deleteBehavior', 'Delete');
        getObjectMappings.mockResolvedValue([...MAPPINGS, saved]);

        await click(element, '[data-id="save"]');

        expect(saveObjectMapping).toHaveBeenCalledWith({
            mapping: {
                Company__c: COMPANY_ID,
                QB_Object__c: 'Invoice',
                Salesforce_Object__c: 'Account',
                External_Id_Field__c: 'QB_External_Id__c',
                Delete_Behavior__c: 'Delete'
            }
        });
        expect(toasts()[0].variant).toBe('success');
        expect(query(element, '[data-id="form"]')).toBeNull();
        expect(element.shadowRoot.querySelectorAll('tbody tr')).toHaveLength(4);
        // Next step offered: the new mapping has no field mappings.
        expect(query(element, '[data-id="created"]').textContent).toContain(
            'Invoice → Account is mapped. It syncs nothing until its fields are mapped.'
        );
        const editFields = jest.fn();
        element.addEventListener('editfields', editFields);
        await click(element, '[data-id="map-fields-now"]');
        expect(editFields.mock.calls[0][0].detail).toEqual({
            mappingId: 'a01000000000009AAA'
        });
        expect(query(element, '[data-id="created"]')).toBeNull();
    });

    it('moves focus into the form after New', async () => {
        const element = await render();
        const focus = jest.spyOn(HTMLElement.prototype, 'focus');

        await click(element, '[data-id="new"]');

        expect(focus.mock.instances).toEqual([combobox(element, 'qbObject')]);
        focus.mockRestore();
    });

    it('names QuickBooks objects by their catalog label', async () => {
        getObjectMappings.mockResolvedValue([
            {
                ...MAPPINGS[0],
                QB_Object__c: 'Account',
                Id: 'a01000000000008AAA'
            }
        ]);
        const element = await render();

        const [row] = element.shadowRoot.querySelectorAll('tbody tr');
        expect(row.querySelector('th').textContent.trim()).toBe(
            'Account (Chart of Accounts)'
        );
        expect(
            row.querySelector('[data-action="fields"]').alternativeText
        ).toBe('Field mappings of Account (Chart of Accounts)');
        await click(element, '[data-id="new"]');
        expect(combobox(element, 'qbObject').options).toContainEqual({
            label: 'Bill',
            value: 'Bill'
        });
    });

    it('reports unsaved form edits and asks before dropping them', async () => {
        const element = await render();
        const dirty = jest.fn();
        element.addEventListener('dirtychange', dirty);
        await click(element, '[data-id="new"]');
        expect(dirty).not.toHaveBeenCalled();

        await choose(element, 'qbObject', 'Invoice');
        expect(dirty.mock.calls[0][0].detail).toEqual({ dirty: true });
        expect(query(element, '[data-id="unsaved"]')).not.toBeNull();
        await click(element, `[data-action="edit"][data-id="${CUSTOMER_ID}"]`);
        const dialog = query(element, 'c-qb-confirm-dialog').shadowRoot;
        dialog.querySelector('[data-id="dialog-cancel"]').click();
        await flushPromises();
        expect(combobox(element, 'qbObject').value).toBe('Invoice');

        await click(element, '[data-id="cancel"]');
        expect(query(element, '[data-id="form"]')).toBeNull();
        expect(dirty.mock.calls[1][0].detail).toEqual({ dirty: false });
    });

    it('edits a mapping: QuickBooks object fixed, the record id sent', async () => {
        saveObjectMapping.mockResolvedValue(MAPPINGS[0]);
        const element = await render();

        await click(element, `[data-action="edit"][data-id="${CUSTOMER_ID}"]`);
        expect(combobox(element, 'qbObject').value).toBe('Customer');
        expect(combobox(element, 'qbObject').disabled).toBe(true);
        getObjectInfo.emit(ACCOUNT_INFO);
        await flushPromises();
        expect(combobox(element, 'externalIdField').value).toBe(
            'QB_External_Id__c'
        );
        await choose(element, 'deleteBehavior', 'Ignore');
        await click(element, '[data-id="save"]');

        expect(saveObjectMapping.mock.calls[0][0].mapping).toEqual(
            expect.objectContaining({
                Id: CUSTOMER_ID,
                QB_Object__c: 'Customer',
                Delete_Behavior__c: 'Ignore'
            })
        );
    });

    it('clears the external id when the Salesforce object changes', async () => {
        const element = await render();
        await click(element, `[data-action="edit"][data-id="${CUSTOMER_ID}"]`);

        await choose(element, 'salesforceObject', 'Contact');

        expect(combobox(element, 'externalIdField').value).toBeUndefined();
        expect(query(element, '[data-id="save"]').disabled).toBe(true);
    });

    it('shows why a save failed in the form', async () => {
        const rejection = {
            body: { message: 'Customer is already mapped for this company.' }
        };
        saveObjectMapping.mockRejectedValue(rejection);
        const element = await render();
        await click(element, `[data-action="edit"][data-id="${CUSTOMER_ID}"]`);

        await click(element, '[data-id="save"]');

        expect(query(element, '[data-id="form"]')).not.toBeNull();
        expect(query(element, '[data-id="form-error"]').errors).toEqual(
            rejection
        );
    });

    it('deletes a mapping after confirmation', async () => {
        deleteObjectMapping.mockResolvedValue();
        const element = await render();
        getObjectMappings.mockResolvedValue(MAPPINGS.slice(1));

        await click(
            element,
            `[data-action="delete"][data-id="${CUSTOMER_ID}"]`
        );
        expect(deleteObjectMapping).not.toHaveBeenCalled();
        expect(query(element, 'tr[data-row="Customer"]').textContent).toContain(
            'its 3 field mappings'
        );
        // Each row's buttons name their row, also while it asks to confirm.
        const names = (row) =>
            Array.from(
                query(element, `tr[data-row="${row}"]`).querySelectorAll(
                    'lightning-button, lightning-button-icon'
                )
            ).map((button) => button.label || button.alternativeText);
        expect(names('Customer')).toEqual(['Delete Customer', 'Keep Customer']);
        expect(names('Vendor')).toEqual([
            'Edit Vendor mapping',
            'Field mappings of Vendor',
            'Delete Vendor mapping'
        ]);
        await expect(element).toBeAccessible();
        await click(element, '[data-action="confirm-delete"]');

        expect(deleteObjectMapping).toHaveBeenCalledWith({
            mappingId: CUSTOMER_ID
        });
        expect(query(element, 'tr[data-row="Customer"]')).toBeNull();
    });

    it('asks for field mappings through an editfields event', async () => {
        const element = await render();
        const handler = jest.fn();
        element.addEventListener('editfields', handler);

        await click(element, `[data-action="fields"][data-id="${VENDOR_ID}"]`);

        expect(handler.mock.calls[0][0].detail).toEqual({
            mappingId: VENDOR_ID
        });
    });

    describe('Use recommended mappings', () => {
        it('creates every recommended mapping when none exist', async () => {
            getObjectMappings.mockResolvedValue([]);
            saveObjectMapping.mockImplementation(savedWithId);
            saveFieldMappings.mockResolvedValue([]);
            const element = await render();
            expect(query(element, '[data-id="empty"]')).not.toBeNull();

            await click(element, '[data-id="recommended"]');

            expect(
                topLevelSaves().map(([{ mapping }]) => [
                    mapping.QB_Object__c,
                    mapping.Salesforce_Object__c,
                    mapping.External_Id_Field__c,
                    mapping.Delete_Behavior__c,
                    mapping.Company__c
                ])
            ).toEqual(
                CATALOG.recommended.map((mapping) => [
                    mapping.qbObject,
                    mapping.salesforceObject,
                    mapping.externalIdField,
                    mapping.deleteBehavior,
                    COMPANY_ID
                ])
            );
            expect(saveObjectMapping.mock.calls[0][0].mapping).toMatchObject({
                QB_Object__c: 'Customer',
                Salesforce_Object__c: 'Account',
                External_Id_Field__c: 'QB_External_Id__c'
            });
            expect(saveFieldMappings.mock.calls[0][0]).toEqual({
                objectMappingId: 'id-Customer',
                mappings: recommendedFor('Customer').fields.map((field) => ({
                    QB_Field__c: field.qbField,
                    Salesforce_Field__c: field.salesforceField
                }))
            });
            expect(saveFieldMappings.mock.calls[0][0].mappings).toContainEqual({
                QB_Field__c: 'DisplayName',
                Salesforce_Field__c: 'Name'
            });
            expect(saveFieldMappings).toHaveBeenCalledTimes(
                CATALOG.recommended.reduce(
                    (count, mapping) =>
                        count + 1 + (mapping.lines || []).length,
                    0
                )
            );
        });

        it('creates the line mappings of a new transaction mapping', async () => {
            getObjectMappings.mockResolvedValue([]);
            saveObjectMapping.mockImplementation(savedWithId);
            saveFieldMappings.mockResolvedValue([]);
            const element = await render();
            const toasts = toastsOf(element);

            await click(element, '[data-id="recommended"]');

            const invoiceLines = saveObjectMapping.mock.calls
                .map(([{ mapping }]) => mapping)
                .filter(
                    (mapping) => mapping.Parent_Mapping__c === 'id-Invoice'
                );
            expect(invoiceLines).toEqual(
                recommendedFor('Invoice').lines.map((line) => ({
                    Parent_Mapping__c: 'id-Invoice',
                    Collection_Path__c: line.collectionPath,
                    Salesforce_Object__c: 'QB_Transaction_Line__c',
                    External_Id_Field__c: 'QB_External_Id__c',
                    Parent_Field__c: 'Transaction__c'
                }))
            );
            const productLines =
                'id-Invoice:Line[DetailType=SalesItemLineDetail]';
            const lineFields = saveFieldMappings.mock.calls.find(
                ([args]) => args.objectMappingId === productLines
            )[0].mappings;
            expect(lineFields).toContainEqual({
                QB_Field__c: 'SalesItemLineDetail.ItemRef',
                Salesforce_Field__c: 'Product__c'
            });
            expect(toasts()[0].message).toContain(
                `Invoice → QB_Transaction__c with ${recommendedFor('Invoice').fields.length} field mappings and 3 line mappings`
            );
        });

        it('creates only what is missing and says what it skipped', async () => {
            // Customer is mapped with fields; Vendor is mapped without; Item and the
            // transactions are missing.
            getObjectMappings.mockResolvedValue(MAPPINGS.slice(0, 2));
            saveObjectMapping.mockResolvedValue({ Id: 'a01000000000009AAA' });
            saveFieldMappings.mockResolvedValue([]);
            const element = await render();
            const toasts = toastsOf(element);

            await click(element, '[data-id="recommended"]');

            expect(
                topLevelSaves().map(([args]) => args.mapping.QB_Object__c)
            ).toEqual(MISSING);
            expect(
                saveFieldMappings.mock.calls.map(
                    ([args]) => args.objectMappingId
                )
            ).toEqual([
                VENDOR_ID,
                // each missing mapping, then each of its line mappings
                ...MISSING.flatMap((name) => [
                    'a01000000000009AAA',
                    ...(recommendedFor(name).lines || []).map(
                        () => 'a01000000000009AAA'
                    )
                ])
            ]);
            const [toast] = toasts();
            expect(toast.variant).toBe('success');
            expect(toast.message).toContain(
                `${recommendedFor('Vendor').fields.length} field mappings for Vendor → Account`
            );
            expect(toast.message).toContain(
                `Item → Product2 with ${recommendedFor('Item').fields.length} field mappings`
            );
            expect(toast.message).toContain(
                'Skipped (already mapped): Customer → Account.'
            );
            expect(getObjectMappings).toHaveBeenCalledTimes(2);
        });

        it('names the recommendations that failed', async () => {
            getObjectMappings.mockResolvedValue(MAPPINGS.slice(0, 2));
            saveObjectMapping.mockRejectedValue({
                body: { message: 'Product2.QB_External_Id__c does not exist' }
            });
            saveFieldMappings.mockResolvedValue([]);
            const element = await render();
            const toasts = toastsOf(element);

            await click(element, '[data-id="recommended"]');

            expect(
                query(element, '[data-id="recommend-failures"]').messages
            ).toEqual(
                MISSING.map(
                    (name) =>
                        `${name}: Product2.QB_External_Id__c does not exist`
                )
            );
            expect(toasts()[0].variant).toBe('warning');
        });
    });

    it('shows an error panel when mappings cannot be loaded', async () => {
        getObjectMappings.mockRejectedValue({ body: { message: 'No access' } });
        const element = await render();

        expect(query(element, '[data-id="error"]').errors.body.message).toBe(
            'No access'
        );
        expect(query(element, 'table')).toBeNull();
        // Without the current mappings it cannot know what already exists.
        expect(query(element, '[data-id="recommended"]').disabled).toBe(true);
    });

    it('offers no QuickBooks object and no recommendations without the catalog', async () => {
        getCatalog.mockRejectedValueOnce({
            body: { message: 'Catalog unavailable' }
        });
        const element = await render();

        expect(query(element, '[data-id="error"]').errors.body.message).toBe(
            'Catalog unavailable'
        );
        expect(query(element, '[data-id="recommended"]').disabled).toBe(true);
        await click(element, '[data-id="new"]');
        expect(combobox(element, 'qbObject').options).toEqual([]);
    });

    it('is accessible with the form open', async () => {
        const element = await render();
        await click(element, '[data-id="new"]');

        await expect(element).toBeAccessible();
    });
});
