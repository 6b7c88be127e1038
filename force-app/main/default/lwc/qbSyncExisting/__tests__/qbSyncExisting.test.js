import { createElement } from 'lwc';
import QbSyncExisting from 'c/qbSyncExisting';
import getCompanies from '@salesforce/apex/QBSetupController.getCompanies';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import startBackfill from '@salesforce/apex/QBBackfillController.startBackfill';
import notifyConfigChanged from '@salesforce/apex/QBConnectionController.notifyConfigChanged';
import { formatRules, parseRules, ruleOptions } from '../matchRules';

jest.mock(
    '@salesforce/apex/QBSetupController.getCompanies',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBSetupController.saveObjectMapping',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBConnectionController.notifyConfigChanged',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBBackfillController.startBackfill',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const COMPANY_ID = 'a00000000000001AAA';
const MAPPING_ID = 'a01000000000001AAA';

async function settle() {
    for (let i = 0; i < 10; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function render(props = {}) {
    const element = createElement('c-qb-sync-existing', { is: QbSyncExisting });
    Object.assign(element, {
        companyId: COMPANY_ID,
        mappingId: MAPPING_ID,
        qbObject: 'Customer',
        salesforceObject: 'Account',
        matchRules: 'Name',
        ...props
    });
    document.body.appendChild(element);
    element.shadowRoot.querySelector('[data-id="open"]').click();
    await settle();
    return element;
}

const rules = (element) =>
    element.shadowRoot.querySelector('lightning-checkbox-group');
const since = (element) =>
    element.shadowRoot.querySelector('[data-id="since"]');
const start = (element) =>
    element.shadowRoot.querySelector('[data-id="start"]');

describe('matchRules', () => {
    it('offers the rules of the target object', () => {
        expect(ruleOptions('Account').map((o) => o.value)).toEqual([
            'Name',
            'EmailDomain',
            'Phone'
        ]);
        expect(ruleOptions('Product2').map((o) => o.value)).toEqual([
            'SKU',
            'Name'
        ]);
        expect(ruleOptions('Contact')).toEqual([]);
    });

    it('reads and writes the multi-select value in the field order', () => {
        expect(parseRules('Name;Phone')).toEqual(['Name', 'Phone']);
        expect(parseRules(undefined)).toEqual([]);
        expect(formatRules(['Phone', 'Name'])).toBe('Name;Phone');
        expect(formatRules([])).toBeNull();
    });
});

describe('c-qb-sync-existing', () => {
    beforeEach(() => {
        getCompanies.mockResolvedValue([
            { Id: COMPANY_ID, Realm_Id__c: '4620816365' }
        ]);
        startBackfill.mockResolvedValue([
            { id: 'job-1', qbObject: 'Customer', state: 'Queued' }
        ]);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('names the QuickBooks object by its label, the API name going to the middleware', async () => {
        const element = await render({
            qbObject: 'Item',
            qbLabel: 'Product/Service (Item)',
            salesforceObject: 'Product2',
            matchRules: null
        });

        expect(element.shadowRoot.querySelector('[data-id="open"]').label).toBe(
            'Sync existing Product/Service (Item) records'
        );
        expect(
            element.shadowRoot.querySelector('[data-id="dialog"]').ariaLabel
        ).toBe('Sync existing Product/Service (Item) records to Product2');
        start(element).click();
        await settle();
        expect(startBackfill).toHaveBeenCalledWith(
            expect.objectContaining({ qbObjects: ['Item'] })
        );
    });

    it('starts a sync of the object since a date, saving changed rules first', async () => {
        const element = await render();
        expect(rules(element).value).toEqual(['Name']);
        await expect(element).toBeAccessible();
        const started = jest.fn();
        element.addEventListener('backfillstart', started);

        rules(element).dispatchEvent(
            new CustomEvent('change', { detail: { value: ['Phone', 'Name'] } })
        );
        since(element).dispatchEvent(
            new CustomEvent('change', { detail: { value: '2026-01-01' } })
        );
        start(element).click();
        await settle();

        expect(saveObjectMapping).toHaveBeenCalledWith({
            mapping: { Id: MAPPING_ID, Match_Rules__c: 'Name;Phone' }
        });
        expect(notifyConfigChanged).toHaveBeenCalledWith({
            realmId: '4620816365'
        });
        expect(startBackfill).toHaveBeenCalledWith({
            realmId: '4620816365',
            qbObjects: ['Customer'],
            since: '2026-01-01'
        });
        expect(started).toHaveBeenCalled();
        expect(
            element.shadowRoot.querySelector('[data-id="dialog"]')
        ).toBeNull();
    });

    it('leaves the mapping alone when the rules did not change', async () => {
        const element = await render();
        start(element).click();
        await settle();
        expect(saveObjectMapping).not.toHaveBeenCalled();
        expect(notifyConfigChanged).not.toHaveBeenCalled();
        expect(startBackfill).toHaveBeenCalledWith({
            realmId: '4620816365',
            qbObjects: ['Customer'],
            since: null
        });
    });

    it('offers no rules for an object without any', async () => {
        const element = await render({ salesforceObject: 'Contact' });
        expect(rules(element)).toBeNull();
    });

    it('keeps the dialog open with the middleware message on a refusal', async () => {
        startBackfill.mockRejectedValue({
            body: {
                message:
                    'The sync middleware answered HTTP 409: a Customer job is already running'
            }
        });
        const element = await render();
        start(element).click();
        await settle();
        expect(
            element.shadowRoot.querySelector('[data-id="dialog"]')
        ).not.toBeNull();
        expect(
            element.shadowRoot.querySelector('[data-id="error"]')
        ).not.toBeNull();
    });
});
