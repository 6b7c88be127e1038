import { createElement } from 'lwc';
import QbSetup from 'c/qbSetup';
import { getNavigateCalledWith, resetNavigation } from 'lightning/navigation';
import getCompanies from '@salesforce/apex/QBSetupController.getCompanies';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getCreateableObjects from '@salesforce/apex/QBSetupController.getCreateableObjects';
import getFieldMappings from '@salesforce/apex/QBSetupController.getFieldMappings';

// The catalog is the package's own static resource (QBSync_Catalog), as Apex serves it.
jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.getCompanies',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
// The panes load their own data; they get empty answers here and have their own tests.
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
    '@salesforce/apex/QBSetupController.getFieldMappings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const COMPANIES = require('./data/getCompanies.json');
const [FIRST, SECOND] = COMPANIES;

const flushPromises = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

async function render() {
    const element = createElement('c-qb-setup', { is: QbSetup });
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

const query = (element, selector) => element.shadowRoot.querySelector(selector);
const PANE_SELECTORS = [
    'c-qb-connection-card',
    'c-qb-object-mapping',
    'c-qb-field-mapping',
    'c-qb-realtime-config'
];
const visiblePanes = (element) =>
    PANE_SELECTORS.filter((selector) => query(element, selector) !== null);

async function select(element, name) {
    query(element, 'lightning-vertical-navigation').dispatchEvent(
        new CustomEvent('select', { detail: { name } })
    );
    await flushPromises();
}

describe('c-qb-setup', () => {
    beforeEach(() => {
        getCompanies.mockResolvedValue([FIRST]);
        getObjectMappings.mockResolvedValue([]);
        getCreateableObjects.mockResolvedValue([]);
        getFieldMappings.mockResolvedValue([]);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        jest.restoreAllMocks();
        resetNavigation();
        window.sessionStorage.clear();
    });

    it('opens on Setup with the connection card of the company', async () => {
        const element = await render();

        expect(visiblePanes(element)).toEqual(['c-qb-connection-card']);
        expect(query(element, 'c-qb-connection-card').company).toEqual(FIRST);
        expect(
            query(element, 'lightning-vertical-navigation').selectedItem
        ).toBe('setup');
        // One company: no picker.
        expect(query(element, 'lightning-combobox')).toBeNull();
    });

    it('lists the navigation: Setup, Configuration items, Sync Logs', async () => {
        const element = await render();

        const sections = Array.from(
            element.shadowRoot.querySelectorAll(
                'lightning-vertical-navigation-section'
            )
        ).map((section) => [
            section.label,
            Array.from(
                section.querySelectorAll('lightning-vertical-navigation-item')
            ).map((item) => item.label)
        ]);
        expect(sections).toEqual([
            ['QuickBooks', ['Setup']],
            [
                'Configuration',
                ['Object Mapping', 'Field Mapping', 'Real-Time Configuration']
            ],
            ['Monitoring', ['Sync Logs']]
        ]);
    });

    it('opens the configuration when the card asks for Setup', async () => {
        const element = await render();

        query(element, 'c-qb-connection-card').dispatchEvent(
            new CustomEvent('setup')
        );
        await flushPromises();

        expect(visiblePanes(element)).toEqual(['c-qb-object-mapping']);
        expect(query(element, 'c-qb-object-mapping').companyId).toBe(FIRST.Id);
        expect(
            query(element, 'lightning-vertical-navigation').selectedItem
        ).toBe('object_mapping');
    });

    it('switches panes from the navigation', async () => {
        const element = await render();

        await select(element, 'field_mapping');
        expect(visiblePanes(element)).toEqual(['c-qb-field-mapping']);
        expect(query(element, 'c-qb-field-mapping').companyId).toBe(FIRST.Id);

        await select(element, 'realtime');
        expect(visiblePanes(element)).toEqual(['c-qb-realtime-config']);
        expect(query(element, 'c-qb-realtime-config').companyId).toBe(FIRST.Id);

        await select(element, 'object_mapping');
        expect(visiblePanes(element)).toEqual(['c-qb-object-mapping']);

        await select(element, 'setup');
        expect(visiblePanes(element)).toEqual(['c-qb-connection-card']);
    });

    it("opens a mapping's field mappings from Object Mapping", async () => {
        getObjectMappings.mockResolvedValue([
            {
                Id: 'a01000000000001AAA',
                QB_Object__c: 'Customer',
                Salesforce_Object__c: 'Account'
            },
            {
                Id: 'a01000000000002AAA',
                QB_Object__c: 'Vendor',
                Salesforce_Object__c: 'Account'
            }
        ]);
        const element = await render();
        await select(element, 'object_mapping');

        query(element, 'c-qb-object-mapping').dispatchEvent(
            new CustomEvent('editfields', {
                detail: { mappingId: 'a01000000000002AAA' }
            })
        );
        await flushPromises();

        expect(visiblePanes(element)).toEqual(['c-qb-field-mapping']);
        expect(query(element, 'c-qb-field-mapping').mappingId).toBe(
            'a01000000000002AAA'
        );
    });

    it('sends Sync Logs to the QB_Sync_Log__c list view', async () => {
        const element = await render();

        await select(element, 'sync_logs');

        expect(getNavigateCalledWith()).toEqual({
            type: 'standard__objectPage',
            attributes: { objectApiName: 'QB_Sync_Log__c', actionName: 'list' },
            state: { filterName: 'All' }
        });
        expect(visiblePanes(element)).toEqual(['c-qb-connection-card']);
    });

    it('offers a company picker when there are several companies', async () => {
        getCompanies.mockResolvedValue(COMPANIES);
        const element = await render();
        const picker = query(element, 'lightning-combobox');

        expect(picker.options).toEqual([
            { label: `${FIRST.Name} (${FIRST.Realm_Id__c})`, value: FIRST.Id },
            {
                label: `${SECOND.Name} (${SECOND.Realm_Id__c})`,
                value: SECOND.Id
            }
        ]);
        picker.dispatchEvent(
            new CustomEvent('change', { detail: { value: SECOND.Id } })
        );
        await flushPromises();
        expect(query(element, 'c-qb-connection-card').company).toEqual(SECOND);

        await select(element, 'realtime');
        expect(query(element, 'c-qb-realtime-config').companyId).toBe(
            SECOND.Id
        );
    });

    it('keeps the chosen company across a reload of the tab', async () => {
        getCompanies.mockResolvedValue(COMPANIES);
        const before = await render();
        query(before, 'lightning-combobox').dispatchEvent(
            new CustomEvent('change', { detail: { value: SECOND.Id } })
        );
        await flushPromises();
        document.body.removeChild(before);

        const after = await render();

        expect(query(after, 'lightning-combobox').value).toBe(SECOND.Id);
        expect(query(after, 'c-qb-connection-card').company).toEqual(SECOND);
    });

    it('shows the first company when the kept one is gone', async () => {
        window.sessionStorage.setItem('qbSetup.selectedCompanyId', SECOND.Id);
        getCompanies.mockResolvedValue([FIRST]);

        const element = await render();

        expect(query(element, 'c-qb-connection-card').company).toEqual(FIRST);
        expect(window.sessionStorage.getItem('qbSetup.selectedCompanyId')).toBe(
            FIRST.Id
        );
    });

    it('still works when the browser refuses storage', async () => {
        jest.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
            throw new Error('SecurityError');
        });
        jest.spyOn(Storage.prototype, 'setItem').mockImplementation(() => {
            throw new Error('QuotaExceededError');
        });
        getCompanies.mockResolvedValue(COMPANIES);

        const element = await render();
        query(element, 'lightning-combobox').dispatchEvent(
            new CustomEvent('change', { detail: { value: SECOND.Id } })
        );
        await flushPromises();

        expect(query(element, 'c-qb-connection-card').company).toEqual(SECOND);
    });

    it('selects a company that was just connected', async () => {
        getCompanies.mockResolvedValue([FIRST]);
        const element = await render();
        const connected = { ...SECOND, Status__c: 'Connected' };
        getCompanies.mockResolvedValue([connected, FIRST]);

        query(element, 'c-qb-connection-card').dispatchEvent(
            new CustomEvent('connectionchange', { detail: { connected: true } })
        );
        await flushPromises();

        expect(getCompanies).toHaveBeenCalledTimes(2);
        expect(query(element, 'c-qb-connection-card').company).toEqual(
            connected
        );
    });

    it('keeps the selected company when the card reports a disconnect', async () => {
        getCompanies.mockResolvedValue(COMPANIES);
        const element = await render();
        query(element, 'lightning-combobox').dispatchEvent(
            new CustomEvent('change', { detail: { value: SECOND.Id } })
        );
        await flushPromises();
        const disconnected = { ...SECOND, Status__c: 'Disconnected' };
        getCompanies.mockResolvedValue([FIRST, disconnected]);

        query(element, 'c-qb-connection-card').dispatchEvent(
            new CustomEvent('connectionchange', {
                detail: { connected: false }
            })
        );
        await flushPromises();

        expect(query(element, 'c-qb-connection-card').company).toEqual(
            disconnected
        );
    });

    it('asks to connect first when there is no company', async () => {
        getCompanies.mockResolvedValue([]);
        const element = await render();

        expect(query(element, 'c-qb-connection-card').company).toBeUndefined();
        await select(element, 'object_mapping');

        expect(visiblePanes(element)).toEqual([]);
        expect(query(element, '[data-id="connect-first"]')).not.toBeNull();
    });

    it('shows an error panel when companies cannot be loaded', async () => {
        getCompanies.mockRejectedValue({
            body: { message: 'No access to QB_Company__c' }
        });
        const element = await render();

        expect(query(element, '[data-id="error"]').errors.body.message).toBe(
            'No access to QB_Company__c'
        );
        expect(query(element, 'lightning-spinner')).toBeNull();
    });

    describe('with unsaved edits in a pane', () => {
        const dialog = (element) =>
            query(element, 'c-qb-confirm-dialog').shadowRoot;

        async function dirtyObjectMapping(element) {
            await select(element, 'object_mapping');
            query(element, 'c-qb-object-mapping').dispatchEvent(
                new CustomEvent('dirtychange', { detail: { dirty: true } })
            );
        }

        it('asks before leaving the pane and stays when told to', async () => {
            const element = await render();
            await dirtyObjectMapping(element);

            await select(element, 'realtime');
            expect(dialog(element).querySelector('h1').textContent.trim()).toBe(
                'Leave without saving?'
            );
            dialog(element).querySelector('[data-id="dialog-cancel"]').click();
            await flushPromises();

            expect(visiblePanes(element)).toEqual(['c-qb-object-mapping']);
            expect(
                query(element, 'lightning-vertical-navigation').selectedItem
            ).toBe('object_mapping');
            expect(dialog(element).querySelector('section')).toBeNull();
        });

        it('keeps the navigation on the pane until the admin chooses to leave', async () => {
            const element = await render();
            await dirtyObjectMapping(element);
            const navigation = query(element, 'lightning-vertical-navigation');
            const beforeSelect = new CustomEvent('beforeselect', {
                cancelable: true,
                detail: { name: 'realtime' }
            });

            navigation.dispatchEvent(beforeSelect);
            await flushPromises();
            expect(beforeSelect.defaultPrevented).toBe(true);
            dialog(element).querySelector('[data-id="dialog-confirm"]').click();
            await flushPromises();

            // Selecting the item makes the real navigation fire `select`.
            expect(navigation.selectedItem).toBe('realtime');
        });

        it('leaves when the admin throws the edits away', async () => {
            const element = await render();
            await dirtyObjectMapping(element);

            await select(element, 'realtime');
            dialog(element).querySelector('[data-id="dialog-confirm"]').click();
            await flushPromises();

            expect(visiblePanes(element)).toEqual(['c-qb-realtime-config']);
            // Nothing unsaved any more: the next switch does not ask.
            await select(element, 'setup');
            expect(visiblePanes(element)).toEqual(['c-qb-connection-card']);
        });

        it('asks before the browser tab is left or reloaded', async () => {
            const element = await render();
            const unload = () => {
                const event = new CustomEvent('beforeunload', {
                    cancelable: true
                });
                window.dispatchEvent(event);
                return event.defaultPrevented;
            };

            expect(unload()).toBe(false);
            await dirtyObjectMapping(element);
            expect(unload()).toBe(true);
            query(element, 'c-qb-object-mapping').dispatchEvent(
                new CustomEvent('dirtychange', { detail: { dirty: false } })
            );
            expect(unload()).toBe(false);
        });

        it('asks before Sync Logs leaves the tab', async () => {
            const element = await render();
            await dirtyObjectMapping(element);

            await select(element, 'sync_logs');
            dialog(element).querySelector('[data-id="dialog-cancel"]').click();
            await flushPromises();

            expect(getNavigateCalledWith()).toBeUndefined();
            expect(visiblePanes(element)).toEqual(['c-qb-object-mapping']);
        });
    });

    it('is accessible', async () => {
        getCompanies.mockResolvedValue(COMPANIES);
        const element = await render();

        await expect(element).toBeAccessible();
    });
});
