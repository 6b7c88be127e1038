import { createElement } from 'lwc';
import QbRealtimeConfig from 'c/qbRealtimeConfig';
import { LIVE_POLL_MS, LIVE_POLL_TRIES } from 'c/saveModel';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import saveRealtimeSettings from '@salesforce/apex/QBSetupController.saveRealtimeSettings';
import getConfigNotification from '@salesforce/apex/QBConnectionController.getConfigNotification';
import notifyConfigChanged from '@salesforce/apex/QBConnectionController.notifyConfigChanged';
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
    '@salesforce/apex/QBSetupController.saveRealtimeSettings',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

jest.mock(
    '@salesforce/apex/QBConnectionController.getConfigNotification',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBConnectionController.notifyConfigChanged',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const COMPANY_ID = 'a00000000000001AAA';
const NOTIFIED = {
    Id: COMPANY_ID,
    Realm_Id__c: '9341453050298834',
    Config_Notified_At__c: '2026-11-24T09:00:00.000Z',
    Config_Notification_Error__c: null
};
const NOT_NOTIFIED = {
    ...NOTIFIED,
    Config_Notification_Error__c:
        'The sync middleware could not be reached: Read timed out'
};
const {
    CATALOG_JSON
} = require('../../../../../test/jest-mocks/apex/getCatalog');
const CATALOG = JSON.parse(CATALOG_JSON);
const MAPPINGS = require('./data/getObjectMappings.json');
const ROW_ERROR_RESULTS = require('./data/saveRealtimeSettingsRowError.json');
const CUSTOMER_ID = 'a01000000000001AAA';
const ITEM_ID = 'a01000000000003AAA';

const flushPromises = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

async function render() {
    const element = createElement('c-qb-realtime-config', {
        is: QbRealtimeConfig
    });
    element.companyId = COMPANY_ID;
    document.body.appendChild(element);
    await flushPromises();
    return element;
}

const row = (element, qbObject) =>
    element.shadowRoot.querySelector(`tr[data-row="${qbObject}"]`);
const cell = (element, qbObject, name) =>
    row(element, qbObject).querySelector(`[data-cell="${name}"]`);
const toggle = (element, qbObject) =>
    row(element, qbObject).querySelector('lightning-input');
const saveBar = (element) =>
    element.shadowRoot.querySelector('c-qb-save-bar').shadowRoot;
const saveButton = (element) =>
    saveBar(element).querySelector('[data-id="save"]');
const liveStatus = (element) =>
    saveBar(element).querySelector('[data-id="live-status"]');
const banner = (element) =>
    element.shadowRoot.querySelector('[data-id="not-enabled"]');

const notificationWarning = (element) =>
    element.shadowRoot.querySelector('[data-id="notification-error"]');
const notifyAgainButton = (element) =>
    element.shadowRoot.querySelector('[data-id="notify-again"]');

// Settles awaited Apex calls and re-renders without timers (works with fake timers).
async function settle() {
    for (let i = 0; i < 10; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function switchTo(element, qbObject, checked) {
    const input = toggle(element, qbObject);
    input.checked = checked;
    input.dispatchEvent(new CustomEvent('change'));
    await flushPromises();
}

describe('c-qb-realtime-config', () => {
    beforeEach(() => {
        getObjectMappings.mockResolvedValue(MAPPINGS);
        getConfigNotification.mockResolvedValue(NOTIFIED);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('lists every catalog object with its target, field count and status', async () => {
        const element = await render();

        expect(getObjectMappings).toHaveBeenCalledWith({
            companyId: 'a00000000000001AAA'
        });
        // One row per catalog object: the mapped ones first, each group in catalog order.
        const rows = element.shadowRoot.querySelectorAll('tbody tr');
        const mapped = new Set(MAPPINGS.map((mapping) => mapping.QB_Object__c));
        const names = CATALOG.entities.map((entity) => entity.name);
        expect(Array.from(rows).map((tr) => tr.dataset.row)).toEqual([
            ...names.filter((name) => mapped.has(name)),
            ...names.filter((name) => !mapped.has(name))
        ]);
        expect(rows.length).toBeGreaterThan(20);
        // Labelled as the catalog labels them.
        expect(row(element, 'Account').querySelector('th').textContent).toBe(
            'Account (Chart of Accounts)'
        );
        expect(cell(element, 'Customer', 'target').textContent).toBe('Account');
        expect(cell(element, 'Customer', 'count').textContent).toBe('3');
        expect(cell(element, 'Customer', 'status').label).toBe('Ready');
        expect(cell(element, 'Vendor', 'status').label).toBe(
            'Needs field mappings'
        );
        expect(cell(element, 'Item', 'status').label).toBe('Enabled');
        expect(toggle(element, 'Item').checked).toBe(true);
        expect(cell(element, 'Invoice', 'target').textContent).toBe(
            'Not mapped'
        );
        expect(cell(element, 'Invoice', 'status').label).toBe('Not mapped');
    });

    it('offers Sync existing records on enabled rows, named by the catalog label', async () => {
        const element = await render();

        const syncExisting = row(element, 'Item').querySelector(
            'c-qb-sync-existing'
        );
        const item = CATALOG.entities.find((entity) => entity.name === 'Item');
        expect(syncExisting.qbObject).toBe('Item');
        expect(syncExisting.qbLabel).toBe(item.label);
        expect(syncExisting.mappingId).toBe(ITEM_ID);
        // Not offered before the object is enabled and saved.
        expect(
            row(element, 'Customer').querySelector('c-qb-sync-existing')
        ).toBeNull();
    });

    it('disables the toggle where the object is not ready and says why', async () => {
        const element = await render();

        expect(toggle(element, 'Vendor').disabled).toBe(true);
        expect(cell(element, 'Vendor', 'reason').textContent).toContain(
            'Add field mappings before enabling real-time sync.'
        );
        expect(toggle(element, 'Invoice').disabled).toBe(true);
        expect(cell(element, 'Invoice', 'reason').textContent).toContain(
            'in Object Mapping first'
        );
        expect(toggle(element, 'Customer').disabled).toBe(false);
        expect(cell(element, 'Customer', 'reason')).toBeNull();
        expect(toggle(element, 'Item').disabled).toBe(false);
    });

    it('names mapped objects that are not enabled in a banner', async () => {
        const element = await render();

        expect(banner(element).textContent).toContain(
            'Mapped but not enabled for real-time sync: Customer.'
        );
        expect(banner(element).textContent).toContain(
            'Vendor cannot be enabled until it has field mappings'
        );

        await switchTo(element, 'Customer', true);

        expect(banner(element).textContent).not.toContain('Customer');
        // Not "Enabled" before it is saved.
        expect(cell(element, 'Customer', 'status').label).toBe('Unsaved');
        expect(cell(element, 'Customer', 'reason').textContent).toContain(
            'Switched on; takes effect after Save.'
        );
    });

    it('shows the save bar with unsaved changes only, and Cancel drops them', async () => {
        const element = await render();
        const dirtyHandler = jest.fn();
        element.addEventListener('dirtychange', dirtyHandler);

        expect(saveButton(element)).toBeNull();
        await switchTo(element, 'Customer', true);
        expect(saveButton(element).disabled).toBe(false);
        expect(
            saveBar(element).querySelector('[data-id="unsaved"]').textContent
        ).toBe('Unsaved changes');
        expect(dirtyHandler.mock.calls[0][0].detail).toEqual({ dirty: true });
        await switchTo(element, 'Customer', false);
        expect(saveButton(element)).toBeNull();
        expect(dirtyHandler.mock.calls[1][0].detail).toEqual({ dirty: false });

        await switchTo(element, 'Item', false);
        saveBar(element).querySelector('[data-id="cancel"]').click();
        await flushPromises();
        expect(toggle(element, 'Item').checked).toBe(true);
        expect(cell(element, 'Item', 'status').label).toBe('Enabled');
        expect(saveButton(element)).toBeNull();
    });

    it('saves all changes in one call and shows a success toast', async () => {
        saveRealtimeSettings.mockResolvedValue([
            { id: CUSTOMER_ID, qbObject: 'Customer', success: true },
            { id: ITEM_ID, qbObject: 'Item', success: true }
        ]);
        // The server state after the save: Customer on, Item off.
        const savedState = MAPPINGS.map((mapping) => ({
            ...mapping,
            Realtime_Enabled__c: mapping.Id === CUSTOMER_ID
        }));
        const element = await render();
        const toastHandler = jest.fn();
        const dirtyHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);
        element.addEventListener('dirtychange', dirtyHandler);

        await switchTo(element, 'Customer', true);
        await switchTo(element, 'Item', false);
        getObjectMappings.mockResolvedValue(savedState);
        saveButton(element).click();
        await flushPromises();

        expect(saveRealtimeSettings).toHaveBeenCalledTimes(1);
        expect(saveRealtimeSettings.mock.calls[0][0]).toEqual({
            changes: [
                {
                    Id: CUSTOMER_ID,
                    QB_Object__c: 'Customer',
                    Realtime_Enabled__c: true
                },
                {
                    Id: ITEM_ID,
                    QB_Object__c: 'Item',
                    Realtime_Enabled__c: false
                }
            ]
        });
        expect(toastHandler).toHaveBeenCalledTimes(1);
        expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
        expect(element.shadowRoot.querySelector('c-error-panel')).toBeNull();
        // Reloaded from the server: Customer is now saved as enabled.
        expect(getObjectMappings).toHaveBeenCalledTimes(2);
        expect(cell(element, 'Customer', 'status').label).toBe('Enabled');
        expect(cell(element, 'Item', 'status').label).toBe('Ready');
        expect(
            saveBar(element).querySelector('[data-id="unsaved"]')
        ).toBeNull();
        // QB Setup hears that nothing is unsaved any more.
        expect(dirtyHandler.mock.calls.map(([event]) => event.detail)).toEqual([
            { dirty: true },
            { dirty: false }
        ]);
    });

    it('says when the change is live in the middleware', async () => {
        saveRealtimeSettings.mockResolvedValue([
            { id: CUSTOMER_ID, qbObject: 'Customer', success: true }
        ]);
        const element = await render();
        await switchTo(element, 'Customer', true);
        jest.useFakeTimers();

        saveButton(element).click();
        await settle();
        expect(liveStatus(element).textContent).toContain(
            'Waiting for the sync middleware'
        );
        getConfigNotification.mockResolvedValue({
            ...NOTIFIED,
            Config_Notified_At__c: '2026-11-24T09:05:00.000Z'
        });
        jest.advanceTimersByTime(LIVE_POLL_MS);
        await settle();

        expect(liveStatus(element).textContent).toMatch(
            /^Saved\. Live in the middleware at .*5:00/
        );
    });

    it('names each failing row in an error panel', async () => {
        saveRealtimeSettings.mockResolvedValue(ROW_ERROR_RESULTS);
        const element = await render();
        const toastHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);

        await switchTo(element, 'Customer', true);
        await switchTo(element, 'Item', false);
        saveButton(element).click();
        await flushPromises();

        const panel = element.shadowRoot.querySelector(
            '[data-id="row-errors"]'
        );
        expect(panel.messages).toEqual([
            'Customer: Add field mappings before enabling real-time sync.'
        ]);
        // The row that did save is still reported as saved.
        expect(toastHandler.mock.calls[0][0].detail.message).toBe(
            '1 object updated.'
        );
    });

    it('shows the Apex error when the save call fails', async () => {
        saveRealtimeSettings.mockRejectedValue({
            body: { message: 'Insufficient access to QB_Object_Mapping__c' }
        });
        const element = await render();

        await switchTo(element, 'Customer', true);
        saveButton(element).click();
        await flushPromises();

        const panel = element.shadowRoot.querySelector('[data-id="error"]');
        expect(panel.errors.body.message).toBe(
            'Insufficient access to QB_Object_Mapping__c'
        );
    });

    it('shows an error panel when the mappings cannot be loaded', async () => {
        getObjectMappings.mockRejectedValue({ body: { message: 'No access' } });
        const element = await render();

        expect(element.shadowRoot.querySelector('table')).toBeNull();
        expect(
            element.shadowRoot.querySelector('[data-id="error"]').errors.body
                .message
        ).toBe('No access');
    });

    it('shows an error panel when the catalog cannot be loaded', async () => {
        const message =
            'The QuickBooks object catalog (static resource QBSync_Catalog) is missing or you cannot see it: deploy the package again.';
        getCatalog.mockRejectedValueOnce({ body: { message } });
        const element = await render();

        expect(element.shadowRoot.querySelector('table')).toBeNull();
        expect(
            element.shadowRoot.querySelector('[data-id="error"]').errors.body
                .message
        ).toBe(message);
    });

    it('shows no notification warning after a successful notification', async () => {
        const element = await render();

        expect(getConfigNotification).toHaveBeenCalledWith({
            companyId: COMPANY_ID
        });
        expect(notificationWarning(element)).toBeNull();
    });

    it('warns when the middleware was not notified and notifies again', async () => {
        getConfigNotification.mockResolvedValue(NOT_NOTIFIED);
        notifyConfigChanged.mockResolvedValue(NOTIFIED);
        const element = await render();
        const toastHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);

        expect(notificationWarning(element).textContent).toContain(
            'The sync middleware could not be reached: Read timed out'
        );
        notifyAgainButton(element).click();
        await flushPromises();

        expect(notifyConfigChanged).toHaveBeenCalledWith({
            realmId: '9341453050298834'
        });
        expect(notificationWarning(element)).toBeNull();
        expect(toastHandler.mock.calls[0][0].detail.title).toBe(
            'Sync middleware notified'
        );
    });

    it('keeps the warning with the new reason when notifying again fails', async () => {
        getConfigNotification.mockResolvedValue(NOT_NOTIFIED);
        notifyConfigChanged.mockResolvedValue({
            ...NOTIFIED,
            Config_Notification_Error__c:
                'The sync middleware answered HTTP 503: database is locked'
        });
        const element = await render();
        const toastHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);

        notifyAgainButton(element).click();
        await flushPromises();

        expect(notificationWarning(element).textContent).toContain(
            'HTTP 503: database is locked'
        );
        expect(toastHandler).not.toHaveBeenCalled();
    });

    it('shows the Apex error when Notify again cannot run', async () => {
        getConfigNotification.mockResolvedValue(NOT_NOTIFIED);
        notifyConfigChanged.mockRejectedValue({
            body: { message: 'No QuickBooks company with realm id 1 exists' }
        });
        const element = await render();

        notifyAgainButton(element).click();
        await flushPromises();

        expect(
            element.shadowRoot.querySelector('[data-id="error"]').shadowRoot
                .textContent
        ).toContain('No QuickBooks company with realm id 1 exists');
    });

    it('picks up a failed notification after a save', async () => {
        saveRealtimeSettings.mockResolvedValue([
            { id: CUSTOMER_ID, qbObject: 'Customer', success: true }
        ]);
        const element = await render();
        await switchTo(element, 'Customer', true);
        jest.useFakeTimers();

        saveButton(element).click();
        await settle();
        // The queued job has not run yet: same outcome as before the save.
        jest.advanceTimersByTime(LIVE_POLL_MS);
        await settle();
        expect(notificationWarning(element)).toBeNull();
        getConfigNotification.mockResolvedValue(NOT_NOTIFIED);
        jest.advanceTimersByTime(LIVE_POLL_MS);
        await settle();

        expect(notificationWarning(element).textContent).toContain(
            'Read timed out'
        );
        expect(liveStatus(element).textContent).toContain(
            'Saved, but the middleware was not told: The sync middleware could not be reached'
        );
        const calls = getConfigNotification.mock.calls.length;
        jest.advanceTimersByTime(LIVE_POLL_MS * 5);
        await settle();
        expect(getConfigNotification.mock.calls.length).toBe(calls);
    });

    it('stops reading the outcome after a while', async () => {
        saveRealtimeSettings.mockResolvedValue([
            { id: CUSTOMER_ID, qbObject: 'Customer', success: true }
        ]);
        const element = await render();
        await switchTo(element, 'Customer', true);
        jest.useFakeTimers();

        saveButton(element).click();
        await settle();
        const afterSave = getConfigNotification.mock.calls.length;
        for (let i = 0; i < LIVE_POLL_TRIES + 3; i++) {
            jest.advanceTimersByTime(LIVE_POLL_MS);
            // eslint-disable-next-line no-await-in-loop
            await settle();
        }

        expect(getConfigNotification.mock.calls.length - afterSave).toBe(
            LIVE_POLL_TRIES
        );
        expect(liveStatus(element).textContent).toContain(
            'has not confirmed the change yet'
        );
    });

    it('is accessible with the notification warning', async () => {
        getConfigNotification.mockResolvedValue(NOT_NOTIFIED);
        const element = await render();

        await expect(element).toBeAccessible();
    });

    it('is accessible', async () => {
        const element = await render();

        await expect(element).toBeAccessible();
    });
});
