import { createElement } from 'lwc';
import QbFieldMapping from 'c/qbFieldMapping';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getFieldMappings from '@salesforce/apex/QBSetupController.getFieldMappings';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import getLineMappings from '@salesforce/apex/QBSetupController.getLineMappings';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';

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
    '@salesforce/apex/QBSetupController.getFieldMappings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.saveFieldMappings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.getLineMappings',
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

const {
    CATALOG_JSON
} = require('../../../../../test/jest-mocks/apex/getCatalog');
const CUSTOMER = JSON.parse(CATALOG_JSON).entities.find(
    (entity) => entity.name === 'Customer'
);
const MAPPINGS = require('./data/getObjectMappings.json');
const CUSTOMER_FIELDS = require('./data/getFieldMappingsCustomer.json');
const {
    asPermissionSetSees
} = require('../../../../../test/jest-mocks/packageFieldAccess');
// Account as the admin sees it: the package's own fields only as QuickBooks_Sync_Admin grants them.
const ACCOUNT_INFO = asPermissionSetSees(
    require('./data/getObjectInfoAccount.json'),
    'QuickBooks_Sync_Admin'
);
const PRODUCT_INFO = asPermissionSetSees(
    require('./data/getObjectInfoProduct2.json'),
    'QuickBooks_Sync_Admin'
);
const PRODUCT_LINES_PATH = 'Line[DetailType=SalesItemLineDetail]';
const INVOICE_ID = 'a01000000000004AAA';
const LINES_ID = 'a01000000000005AAA';
const INVOICE = {
    Id: INVOICE_ID,
    QB_Object__c: 'Invoice',
    Salesforce_Object__c: 'QB_Transaction__c',
    External_Id_Field__c: 'QB_External_Id__c',
    Field_Mapping_Count__c: 0
};
const PRODUCT_LINES = {
    Id: LINES_ID,
    QB_Object__c: 'Invoice',
    Salesforce_Object__c: 'QB_Transaction_Line__c',
    External_Id_Field__c: 'QB_External_Id__c',
    Parent_Mapping__c: INVOICE_ID,
    Collection_Path__c: PRODUCT_LINES_PATH,
    Parent_Field__c: 'Transaction__c',
    Field_Mapping_Count__c: 1
};
// The line object as the UI API describes it: the master-detail parent is required.
const describedField = (apiName, dataType, extra = {}) => ({
    apiName,
    label: apiName,
    dataType,
    createable: true,
    updateable: true,
    required: false,
    compound: false,
    ...extra
});
const LINE_INFO = {
    apiName: 'QB_Transaction_Line__c',
    fields: {
        Amount__c: describedField('Amount__c', 'Currency'),
        Quantity__c: describedField('Quantity__c', 'Double'),
        Product__c: describedField('Product__c', 'Reference'),
        Transaction__c: describedField('Transaction__c', 'Reference', {
            required: true,
            updateable: false
        }),
        QB_External_Id__c: describedField('QB_External_Id__c', 'String')
    }
};
const CUSTOMER_ID = 'a01000000000001AAA';
const ITEM_ID = 'a01000000000003AAA';

const flushPromises = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

async function render(mappingId = CUSTOMER_ID) {
    const element = createElement('c-qb-field-mapping', { is: QbFieldMapping });
    element.companyId = 'a00000000000001AAA';
    element.mappingId = mappingId;
    document.body.appendChild(element);
    await flushPromises();
    getObjectInfo.emit(ACCOUNT_INFO);
    await flushPromises();
    return element;
}

// The pane's own elements, then those of its save bar and Lines table.
const query = (element, selector) =>
    [
        element.shadowRoot,
        ...['c-qb-save-bar', 'c-qb-line-mappings'].map(
            (child) => element.shadowRoot.querySelector(child)?.shadowRoot
        )
    ]
        .map((root) => root?.querySelector(selector))
        .find(Boolean) || null;
const rows = (element) =>
    Array.from(element.shadowRoot.querySelectorAll('tbody tr'));
const control = (tr, name) => tr.querySelector(`[data-name="${name}"]`);
const hintOf = (tr) => tr.querySelector('[data-cell="hint"]').textContent;

async function setRow(tr, name, value) {
    control(tr, name).dispatchEvent(
        new CustomEvent('change', { detail: { value } })
    );
    await flushPromises();
}

async function click(element, selector) {
    query(element, selector).click();
    await flushPromises();
}

describe('c-qb-field-mapping', () => {
    beforeEach(() => {
        getObjectMappings.mockResolvedValue(MAPPINGS);
        getFieldMappings.mockResolvedValue(CUSTOMER_FIELDS);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it("loads the chosen mapping's field mappings and describes its target", async () => {
        const element = await render();

        expect(getFieldMappings).toHaveBeenCalledWith({
            objectMappingId: CUSTOMER_ID
        });
        expect(getObjectInfo.getLastConfig()).toEqual({
            objectApiName: 'Account'
        });
        const [first, second] = rows(element);
        expect(control(first, 'qbField').value).toBe('DisplayName');
        expect(control(first, 'salesforceField').value).toBe('Name');
        expect(control(first, 'transform').value).toBe('Trim');
        expect(control(second, 'defaultValue').value).toBe('0');
        // Every Customer field of the catalog, in catalog order, labelled with its path.
        const options = control(first, 'qbField').options;
        expect(options.map((option) => option.value)).toEqual(
            CUSTOMER.fields.map((field) => field.path)
        );
        expect(options).toContainEqual({
            label: 'Display Name (DisplayName)',
            value: 'DisplayName'
        });
    });

    it('offers writable Salesforce fields only, without the external id', async () => {
        const element = await render();

        const options = control(rows(element)[0], 'salesforceField').options;
        expect(options.map((option) => option.value)).toEqual([
            'Description',
            'Name',
            'AnnualRevenue',
            'QB_Active__c',
            'Region__c'
        ]);
        expect(options[1].label).toBe('Account Name (Name)');
    });

    it('hints at type compatibility per row', async () => {
        const element = await render();
        const [first, second] = rows(element);

        expect(hintOf(first)).toBe('OK');
        expect(hintOf(second)).toBe('Converted to text');

        await setRow(first, 'salesforceField', 'AnnualRevenue');
        expect(hintOf(rows(element)[0])).toBe(
            'May fail: the text must be a number'
        );

        await setRow(rows(element)[1], 'qbField', 'Active');
        await setRow(rows(element)[1], 'salesforceField', 'QB_Active__c');
        expect(hintOf(rows(element)[1])).toBe('OK');
    });

    it('names required Salesforce fields that are not mapped yet', async () => {
        const element = await render();

        // Name is mapped; the external id is filled by the sync; Region__c is missing.
        expect(
            query(element, '[data-id="missing-required"]').textContent
        ).toContain(
            'Required Salesforce fields not mapped yet: Region (Region__c).'
        );

        await click(
            element,
            `[data-action="remove"][data-key="${CUSTOMER_FIELDS[0].Id}"]`
        );

        expect(
            query(element, '[data-id="missing-required"]').textContent
        ).toContain('Account Name (Name), Region (Region__c).');
    });

    it('refuses to save while a required field is missing, naming it once', async () => {
        const element = await render();

        await setRow(rows(element)[1], 'defaultValue', '1');
        await click(element, '[data-id="save"]');

        expect(saveFieldMappings).not.toHaveBeenCalled();
        expect(query(element, '[data-id="validation"]').messages).toEqual([
            'Map the required Salesforce fields first: Region (Region__c).'
        ]);
        // Not also in the warning above the table.
        expect(query(element, '[data-id="missing-required"]')).toBeNull();
    });

    describe('unsaved rows', () => {
        const dialog = (element) =>
            query(element, 'c-qb-confirm-dialog').shadowRoot;

        it('shows the save bar and tells the page, Cancel restores the rows', async () => {
            const element = await render();
            const dirtyHandler = jest.fn();
            element.addEventListener('dirtychange', dirtyHandler);
            expect(query(element, '[data-id="save"]')).toBeNull();

            await click(
                element,
                `[data-action="remove"][data-key="${CUSTOMER_FIELDS[0].Id}"]`
            );
            expect(rows(element)).toHaveLength(1);
            expect(query(element, '[data-id="unsaved"]')).not.toBeNull();
            expect(dirtyHandler.mock.calls[0][0].detail).toEqual({
                dirty: true
            });

            await click(element, '[data-id="cancel"]');
            expect(rows(element)).toHaveLength(2);
            expect(query(element, '[data-id="save"]')).toBeNull();
            expect(dirtyHandler.mock.calls[1][0].detail).toEqual({
                dirty: false
            });
        });

        it('asks before the picker switches to another mapping', async () => {
            const element = await render();
            await click(
                element,
                `[data-action="remove"][data-key="${CUSTOMER_FIELDS[0].Id}"]`
            );

            const picker = query(element, 'lightning-combobox');
            picker.dispatchEvent(
                new CustomEvent('change', { detail: { value: ITEM_ID } })
            );
            await flushPromises();
            dialog(element).querySelector('[data-id="dialog-cancel"]').click();
            await flushPromises();

            // Stayed: the removed row stays removed, the picker shows Customer again.
            expect(getFieldMappings).toHaveBeenCalledTimes(1);
            expect(rows(element)).toHaveLength(1);
            expect(picker.value).toBe(CUSTOMER_ID);

            picker.dispatchEvent(
                new CustomEvent('change', { detail: { value: ITEM_ID } })
            );
            await flushPromises();
            dialog(element).querySelector('[data-id="dialog-confirm"]').click();
            await flushPromises();
            expect(getFieldMappings).toHaveBeenLastCalledWith({
                objectMappingId: ITEM_ID
            });
        });

        it('asks before saving a row that may fail', async () => {
            const element = await render();
            saveFieldMappings.mockResolvedValue(CUSTOMER_FIELDS);
            await click(element, '[data-id="add"]');
            const added = rows(element)[2];
            await setRow(added, 'qbField', 'Notes');
            await setRow(added, 'salesforceField', 'Region__c');
            await setRow(rows(element)[0], 'salesforceField', 'AnnualRevenue');
            await setRow(rows(element)[0], 'qbField', 'DisplayName');
            await setRow(rows(element)[1], 'salesforceField', 'Name');
            expect(
                rows(element)[0].querySelector('[data-cell="hint"]').className
            ).toContain('slds-theme_warning');

            await click(element, '[data-id="save"]');
            const details = Array.from(
                dialog(element).querySelectorAll(
                    '[data-id="dialog-details"] li'
                )
            ).map((li) => li.textContent);
            expect(details).toEqual([
                'Row 1: DisplayName → AnnualRevenue: May fail: the text must be a number.'
            ]);
            dialog(element).querySelector('[data-id="dialog-cancel"]').click();
            await flushPromises();
            expect(saveFieldMappings).not.toHaveBeenCalled();

            await click(element, '[data-id="save"]');
            dialog(element).querySelector('[data-id="dialog-confirm"]').click();
            await flushPromises();
            expect(saveFieldMappings).toHaveBeenCalledTimes(1);
        });
    });

    it('refuses incomplete rows and a Salesforce field mapped twice', async () => {
        const element = await render();
        await click(element, '[data-id="add"]');
        await click(element, '[data-id="add"]');
        const added = rows(element)[3];
        await setRow(added, 'qbField', 'BillAddr.City');
        await setRow(added, 'salesforceField', 'Name');

        await click(element, '[data-id="save"]');

        expect(saveFieldMappings).not.toHaveBeenCalled();
        expect(query(element, '[data-id="validation"]').messages).toEqual([
            'Row 3: choose both a QuickBooks field and a Salesforce field.',
            'Name is mapped more than once.',
            'Map the required Salesforce fields first: Region (Region__c).'
        ]);
    });

    it('saves the complete set and shows a toast', async () => {
        const stored = [
            ...CUSTOMER_FIELDS,
            {
                Id: 'a02000000000003AAA',
                QB_Field__c: 'BillAddr.City',
                Salesforce_Field__c: 'Region__c'
            }
        ];
        saveFieldMappings.mockResolvedValue(stored);
        const element = await render();
        const toastHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);
        await click(element, '[data-id="add"]');
        const added = rows(element)[2];
        await setRow(added, 'qbField', 'BillAddr.City');
        await setRow(added, 'salesforceField', 'Region__c');
        expect(query(element, '[data-id="missing-required"]')).toBeNull();

        await click(element, '[data-id="save"]');

        expect(saveFieldMappings).toHaveBeenCalledWith({
            objectMappingId: CUSTOMER_ID,
            mappings: [
                {
                    Id: 'a02000000000001AAA',
                    QB_Field__c: 'DisplayName',
                    Salesforce_Field__c: 'Name',
                    Transform__c: 'Trim',
                    Default_Value__c: null
                },
                {
                    Id: 'a02000000000002AAA',
                    QB_Field__c: 'Balance',
                    Salesforce_Field__c: 'Description',
                    Transform__c: null,
                    Default_Value__c: '0'
                },
                {
                    QB_Field__c: 'BillAddr.City',
                    Salesforce_Field__c: 'Region__c',
                    Transform__c: null,
                    Default_Value__c: null
                }
            ]
        });
        const toast = toastHandler.mock.calls[0][0].detail;
        expect(toast.variant).toBe('success');
        expect(toast.message).toBe('3 field mappings for Customer → Account.');
        expect(query(element, '[data-id="validation"]')).toBeNull();
        expect(rows(element)[2].dataset.row).toBe('a02000000000003AAA');
    });

    it('puts Add field before the rows and moves focus into the row it adds', async () => {
        const element = await render();
        const add = query(element, '[data-id="add"]');
        const table = element.shadowRoot.querySelector('table');
        // Document order is Tab order: Add field comes before every row's controls.
        expect(
            add.compareDocumentPosition(table) &
                Node.DOCUMENT_POSITION_FOLLOWING
        ).toBeTruthy();
        // The stub combobox takes no focus in jsdom: whom focus() was called on tells.
        const focus = jest.spyOn(HTMLElement.prototype, 'focus');

        add.click();
        await flushPromises();

        const added = rows(element)[2];
        expect(added.dataset.row).toMatch(/^new-/);
        expect(focus.mock.instances).toEqual([control(added, 'qbField')]);
        focus.mockRestore();
    });

    it("keeps the admin's row order after Save, though Apex returns the rows sorted", async () => {
        const city = {
            Id: 'a02000000000003AAA',
            QB_Field__c: 'BillAddr.City',
            Salesforce_Field__c: 'Region__c'
        };
        // QBMappingSelector.fieldMappings: ORDER BY QB_Field__c.
        const [displayName, balance] = CUSTOMER_FIELDS;
        saveFieldMappings.mockResolvedValue([balance, city, displayName]);
        const element = await render();
        await click(element, '[data-id="add"]');
        await setRow(rows(element)[2], 'qbField', 'BillAddr.City');
        await setRow(rows(element)[2], 'salesforceField', 'Region__c');

        await click(element, '[data-id="save"]');

        expect(rows(element).map((tr) => tr.dataset.row)).toEqual([
            displayName.Id,
            balance.Id,
            city.Id
        ]);
        expect(rows(element).map((tr) => control(tr, 'qbField').value)).toEqual(
            ['DisplayName', 'Balance', 'BillAddr.City']
        );
        // Removing row 2 removes the row the admin saw as row 2.
        rows(element)[1].querySelector('[data-action="remove"]').click();
        await flushPromises();
        expect(rows(element).map((tr) => control(tr, 'qbField').value)).toEqual(
            ['DisplayName', 'BillAddr.City']
        );
    });

    it('shows the Apex error when the save is refused', async () => {
        saveFieldMappings.mockRejectedValue({
            body: {
                message: 'Required Salesforce fields are not mapped: Region__c'
            }
        });
        const element = await render();
        await setRow(rows(element)[1], 'salesforceField', 'Region__c');
        await setRow(rows(element)[1], 'qbField', 'BillAddr.City');

        await click(element, '[data-id="save"]');

        expect(query(element, '[data-id="error"]').errors.body.message).toBe(
            'Required Salesforce fields are not mapped: Region__c'
        );
    });

    it('switches to another object mapping', async () => {
        const element = await render();
        getFieldMappings.mockResolvedValue([]);

        const picker = query(element, 'lightning-combobox');
        picker.dispatchEvent(
            new CustomEvent('change', { detail: { value: ITEM_ID } })
        );
        await flushPromises();
        getObjectInfo.emit(PRODUCT_INFO);
        await flushPromises();

        expect(getFieldMappings).toHaveBeenLastCalledWith({
            objectMappingId: ITEM_ID
        });
        expect(getObjectInfo.getLastConfig()).toEqual({
            objectApiName: 'Product2'
        });
        expect(rows(element)).toHaveLength(0);
        expect(
            query(element, '[data-id="missing-required"]').textContent
        ).toContain('Product Name (Name)');
    });

    it('names the QuickBooks object by its label in the title and the save toast', async () => {
        getFieldMappings.mockResolvedValue([]);
        const element = await render(ITEM_ID);
        getObjectInfo.emit(PRODUCT_INFO);
        await flushPromises();
        saveFieldMappings.mockResolvedValue([
            {
                Id: 'a02000000000007AAA',
                QB_Field__c: 'Name',
                Salesforce_Field__c: 'Name'
            }
        ]);
        const toastHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);

        expect(
            query(element, '[data-id="field-table-title"]').textContent
        ).toBe('Fields of Product/Service (Item) → Product2');
        await click(element, '[data-id="add"]');
        await setRow(rows(element)[0], 'qbField', 'Name');
        await setRow(rows(element)[0], 'salesforceField', 'Name');
        await click(element, '[data-id="save"]');

        expect(toastHandler.mock.calls[0][0].detail.message).toBe(
            '1 field mappings for Product/Service (Item) → Product2.'
        );
    });

    it('opens the first mapping when none is chosen', async () => {
        const element = await render(undefined);

        expect(getFieldMappings).toHaveBeenCalledWith({
            objectMappingId: CUSTOMER_ID
        });
        expect(query(element, 'lightning-combobox').value).toBe(CUSTOMER_ID);
    });

    it('asks for an object mapping first when there is none', async () => {
        getObjectMappings.mockResolvedValue([]);
        const element = await render();

        expect(query(element, '[data-id="no-object-mappings"]')).not.toBeNull();
        expect(query(element, 'table')).toBeNull();
    });

    describe('Lines of a transaction mapping', () => {
        async function renderInvoice() {
            getObjectMappings.mockResolvedValue([...MAPPINGS, INVOICE]);
            getLineMappings.mockResolvedValue([PRODUCT_LINES]);
            getFieldMappings.mockResolvedValue([]);
            const element = await render(INVOICE_ID);
            return element;
        }
        const lineRows = (element) =>
            Array.from(
                query(
                    element,
                    'c-qb-line-mappings'
                ).shadowRoot.querySelectorAll('tr[data-line]')
            );

        it('lists the line mappings and offers the unmapped collections, prefilled', async () => {
            const element = await renderInvoice();

            expect(getLineMappings).toHaveBeenCalledWith({
                parentMappingId: INVOICE_ID
            });
            const [line] = lineRows(element);
            expect(lineRows(element)).toHaveLength(1);
            expect(line.querySelector('th').textContent).toBe(
                PRODUCT_LINES_PATH
            );
            expect(line.querySelector('[data-cell="count"]').textContent).toBe(
                '1'
            );
            const adder = query(element, '[data-id="add-line"]');
            const [collection, object, parent, externalId] =
                adder.querySelectorAll('lightning-combobox, lightning-input');
            expect(collection.options.map((option) => option.value)).toEqual([
                'Line[DetailType=DescriptionOnly]',
                'Line[DetailType=DiscountLineDetail]'
            ]);
            expect(collection.value).toBe('Line[DetailType=DescriptionOnly]');
            expect(object.value).toBe('QB_Transaction_Line__c');
            expect(parent.value).toBe('Transaction__c');
            expect(externalId.value).toBe('QB_External_Id__c');
        });

        it('adds a line mapping under the selected mapping and opens its fields', async () => {
            saveObjectMapping.mockResolvedValue({
                ...PRODUCT_LINES,
                Id: 'a01000000000006AAA',
                Collection_Path__c: 'Line[DetailType=DiscountLineDetail]',
                Field_Mapping_Count__c: 0
            });
            const element = await renderInvoice();
            const collection = query(
                element,
                '[data-id="add-line"] lightning-combobox'
            );
            collection.dispatchEvent(
                new CustomEvent('change', {
                    detail: { value: 'Line[DetailType=DiscountLineDetail]' }
                })
            );
            await flushPromises();

            await click(element, '[data-id="add-line-button"]');

            expect(saveObjectMapping).toHaveBeenCalledWith({
                mapping: {
                    Parent_Mapping__c: INVOICE_ID,
                    Collection_Path__c: 'Line[DetailType=DiscountLineDetail]',
                    Salesforce_Object__c: 'QB_Transaction_Line__c',
                    External_Id_Field__c: 'QB_External_Id__c',
                    Parent_Field__c: 'Transaction__c'
                }
            });
            expect(getFieldMappings).toHaveBeenLastCalledWith({
                objectMappingId: 'a01000000000006AAA'
            });
        });

        it("edits a line's fields against its collection and the line object", async () => {
            const element = await renderInvoice();
            getFieldMappings.mockResolvedValue([
                {
                    Id: 'a02000000000009AAA',
                    QB_Field__c: 'Amount',
                    Salesforce_Field__c: 'Amount__c'
                }
            ]);

            await click(element, '[data-action="edit-line"]');
            getObjectInfo.emit(LINE_INFO);
            await flushPromises();

            expect(getFieldMappings).toHaveBeenLastCalledWith({
                objectMappingId: LINES_ID
            });
            expect(getObjectInfo.getLastConfig()).toEqual({
                objectApiName: 'QB_Transaction_Line__c'
            });
            expect(
                query(element, '[data-id="field-table-title"]').textContent
            ).toContain(PRODUCT_LINES_PATH);
            const [amount] = rows(element).filter((tr) => tr.dataset.row);
            const collectionFields = JSON.parse(CATALOG_JSON)
                .entities.find((entity) => entity.name === 'Invoice')
                .collections.find(
                    (collection) => collection.path === PRODUCT_LINES_PATH
                ).fields;
            expect(
                control(amount, 'qbField').options.map((option) => option.value)
            ).toEqual(collectionFields.map((item) => item.path));
            // The parent field and the external id are the sync's to fill.
            expect(
                control(amount, 'salesforceField').options.map(
                    (option) => option.value
                )
            ).toEqual(['Amount__c', 'Product__c', 'Quantity__c']);
            expect(query(element, '[data-id="missing-required"]')).toBeNull();
            expect(hintOf(amount)).toBe('OK');
            saveFieldMappings.mockResolvedValue([]);
            await setRow(amount, 'transform', 'Trim');

            await click(element, '[data-id="save"]');

            expect(saveFieldMappings).toHaveBeenCalledWith({
                objectMappingId: LINES_ID,
                mappings: [
                    {
                        Id: 'a02000000000009AAA',
                        QB_Field__c: 'Amount',
                        Salesforce_Field__c: 'Amount__c',
                        Transform__c: 'Trim',
                        Default_Value__c: null
                    }
                ]
            });
            await click(element, '[data-id="edit-header"]');
            expect(getFieldMappings).toHaveBeenLastCalledWith({
                objectMappingId: INVOICE_ID
            });
        });

        it('deletes a line mapping and leaves the line being edited', async () => {
            deleteObjectMapping.mockResolvedValue(undefined);
            const element = await renderInvoice();
            await click(element, '[data-action="edit-line"]');
            getLineMappings.mockResolvedValue([]);

            await click(element, '[data-action="delete-line"]');

            expect(deleteObjectMapping).toHaveBeenCalledWith({
                mappingId: LINES_ID
            });
            expect(lineRows(element)).toHaveLength(0);
            expect(getFieldMappings).toHaveBeenLastCalledWith({
                objectMappingId: INVOICE_ID
            });
        });

        it('is accessible', async () => {
            const element = await renderInvoice();

            await expect(element).toBeAccessible();
        });
    });

    it('is accessible', async () => {
        const element = await render();

        await expect(element).toBeAccessible();
    });
});
