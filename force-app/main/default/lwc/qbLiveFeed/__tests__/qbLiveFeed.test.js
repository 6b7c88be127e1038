import { createElement } from 'lwc';
import QbLiveFeed from 'c/qbLiveFeed';
import { formatDelay, feedRows } from '../feedRows';
import { getNavigateCalledWith, resetNavigation } from 'lightning/navigation';

// The catalog is the package's own static resource (QBSync_Catalog), as Apex serves it.
jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);

const LOGS = [
    {
        Id: 'a02000000000002AAA',
        Name: 'SL-0002',
        Record_Name__c: "Amy's Bird Sanctuary",
        QB_Object__c: 'Customer',
        Operation__c: 'Update',
        Status__c: 'Success',
        Latency_Ms__c: 1250,
        Salesforce_Object__c: 'Account',
        Salesforce_Record_Id__c: '001000000000001AAA',
        Synced_At__c: '2026-03-01T12:00:01.000Z'
    },
    {
        Id: 'a02000000000001AAA',
        Name: 'SL-0001',
        QB_Object__c: 'Invoice',
        QB_Record_Id__c: '130',
        Status__c: 'Failed',
        Message__c: 'Amount cannot be written to Amount__c.',
        Event_Time__c: '2026-03-01T11:58:00.000Z',
        Synced_At__c: '2026-03-01T12:00:00.000Z'
    }
];

function render(logs, live = true) {
    const element = createElement('c-qb-live-feed', { is: QbLiveFeed });
    element.logs = logs;
    element.live = live;
    document.body.appendChild(element);
    return element;
}

describe('c-qb-live-feed', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        resetNavigation();
    });

    it('formats the delay after the QuickBooks change', () => {
        expect(formatDelay(420)).toBe('0.4 s');
        expect(formatDelay(12400)).toBe('12 s');
        expect(formatDelay(180000)).toBe('3 min');
        expect(formatDelay(3 * 3600000)).toBe('3 h');
        expect(formatDelay(undefined)).toBeUndefined();
        expect(formatDelay(-1)).toBeUndefined();
    });

    it('names the QuickBooks object by its catalog label', async () => {
        const element = render([
            {
                Id: 'a02000000000003AAA',
                Name: 'SL-0003',
                QB_Object__c: 'SalesReceipt',
                QB_Record_Id__c: '42',
                Operation__c: 'Create',
                Status__c: 'Success'
            }
        ]);
        await new Promise((resolve) => {
            setTimeout(resolve, 0);
        });
        const text = element.shadowRoot.textContent;
        expect(text).toContain('Sales Receipt 42');
        expect(text).toContain('Sales Receipt · Create');
    });

    it('names the record, or the QuickBooks object and id without a name', () => {
        const [named, unnamed] = feedRows(LOGS);
        expect(named.name).toBe("Amy's Bird Sanctuary");
        expect(named.delay).toBe('1.3 s after the QuickBooks change');
        expect(named.context).toBe('Customer · Update');
        expect(named.recordUrl).toBe(
            '/lightning/r/Account/001000000000001AAA/view'
        );
        expect(unnamed.name).toBe('Invoice 130');
        // No latency on the log: the sync time minus the QuickBooks change time.
        expect(unnamed.delay).toBe('2 min after the QuickBooks change');
        expect(unnamed.recordUrl).toBeUndefined();
        expect(unnamed.message).toBe('Amount cannot be written to Amount__c.');
    });

    it('lists the syncs with their outcome and links to the Salesforce record', () => {
        const element = render(LOGS);
        const rows = element.shadowRoot.querySelectorAll(
            '[data-id="feed-row"]'
        );
        expect(rows).toHaveLength(2);
        const outcomes = [
            ...element.shadowRoot.querySelectorAll('[data-id="outcome"]')
        ].map((badge) => badge.textContent);
        expect(outcomes).toEqual(['Success', 'Failed']);
        const link = element.shadowRoot.querySelector(
            '[data-id="record-link"]'
        );
        link.click();
        expect(getNavigateCalledWith()).toEqual({
            type: 'standard__recordPage',
            attributes: {
                recordId: '001000000000001AAA',
                objectApiName: 'Account',
                actionName: 'view'
            }
        });
        expect(
            element.shadowRoot.querySelector('[data-id="live"]')
        ).not.toBeNull();
    });

    it('says so when nothing synced yet', () => {
        const element = render([], false);
        expect(
            element.shadowRoot.querySelector('[data-id="empty"]')
        ).not.toBeNull();
        expect(element.shadowRoot.querySelector('[data-id="live"]')).toBeNull();
    });

    it('is accessible', async () => {
        const element = render(LOGS);
        await expect(element).toBeAccessible();
    });
});
