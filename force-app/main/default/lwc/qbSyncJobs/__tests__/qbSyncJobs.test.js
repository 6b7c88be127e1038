import { createElement } from 'lwc';
import QbSyncJobs from 'c/qbSyncJobs';
import listJobs from '@salesforce/apex/QBBackfillController.listJobs';
import cancelBackfill from '@salesforce/apex/QBBackfillController.cancelBackfill';
import listMatchReviews from '@salesforce/apex/QBBackfillController.listMatchReviews';
import { etaText, jobRows, percentOf } from '../jobRows';
import { POLL_MS } from '../qbSyncJobs';

jest.mock(
    '@salesforce/apex/QBBackfillController.listJobs',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBBackfillController.cancelBackfill',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBBackfillController.listMatchReviews',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBBackfillController.resolveMatchReview',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
// The catalog is the package's own static resource (QBSync_Catalog), as Apex serves it.
jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);

const REALM = '4620816365';
const RUNNING = {
    Id: 'a05000000000001AAA',
    Name: 'JOB-00001',
    Job_Key__c: 'job-1',
    QB_Object__c: 'Customer',
    Salesforce_Object__c: 'Account',
    State__c: 'Running',
    Total__c: 200,
    Processed__c: 50,
    Created__c: 40,
    Updated__c: 5,
    Matched__c: 3,
    Ambiguous__c: 1,
    Failed__c: 1,
    ETA__c: '2026-12-06T10:05:00.000+0000'
};
const DONE = { ...RUNNING, State__c: 'Done', Processed__c: 200, ETA__c: null };

async function settle() {
    for (let i = 0; i < 10; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function render() {
    const element = createElement('c-qb-sync-jobs', { is: QbSyncJobs });
    element.realmId = REALM;
    document.body.appendChild(element);
    await settle();
    return element;
}

const job = (element, key) =>
    element.shadowRoot.querySelector(`li[data-job="${key}"]`);

describe('jobRows', () => {
    it('shows processed of total, counts and a whole percentage', () => {
        const [row] = jobRows([RUNNING]);
        expect(row.percent).toBe(25);
        expect(row.progressText).toBe('50 of 200');
        expect(row.counts).toBe(
            '40 created, 5 updated, 3 matched, 1 to review, 1 failed'
        );
        expect(row.active).toBe(true);
    });

    it('names the QuickBooks object as labelOf gives it, by API name without one', () => {
        const item = { ...RUNNING, QB_Object__c: 'Item' };
        const labels = { Item: 'Product/Service (Item)' };
        const labelOf = (name) => labels[name] || name;
        const [row] = jobRows([item], Date.now(), labelOf);
        expect(row.qbLabel).toBe('Product/Service (Item)');
        expect(row.cancelLabel).toBe('Cancel Product/Service (Item) sync');
        expect(jobRows([item])[0].cancelLabel).toBe('Cancel Item sync');
    });

    it('has no percentage until the total is known', () => {
        expect(percentOf({ Processed__c: 5 })).toBe(0);
        expect(jobRows([{ ...RUNNING, Total__c: null }])[0].progressText).toBe(
            '50 of ?'
        );
    });

    it('words the time left and drops it once the job ended', () => {
        const now = Date.parse('2026-12-06T10:00:00Z');
        expect(etaText(RUNNING, now)).toBe('about 5 min left');
        expect(
            etaText({ ...RUNNING, ETA__c: '2026-12-06T10:00:30Z' }, now)
        ).toBe('less than a minute left');
        expect(
            etaText({ ...RUNNING, ETA__c: '2026-12-06T13:00:00Z' }, now)
        ).toBe('about 3 h left');
        expect(etaText(DONE, now)).toBe('');
    });
});

describe('c-qb-sync-jobs', () => {
    beforeEach(() => {
        listMatchReviews.mockResolvedValue([]);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('lists the jobs with a progress bar and Cancel while running', async () => {
        listJobs.mockResolvedValue([RUNNING]);
        const element = await render();
        expect(listJobs).toHaveBeenCalledWith({ realmId: REALM });
        const item = job(element, 'job-1');
        const bar = item.querySelector('lightning-progress-bar');
        expect(bar.value).toBe(25);
        expect(
            item.querySelector('[data-cell="counts"]').textContent
        ).toContain('50 of 200');
        expect(item.querySelector('[data-action="cancel"]')).not.toBeNull();
        await expect(element).toBeAccessible();
    });

    it("names each job's QuickBooks object by its catalog label", async () => {
        listJobs.mockResolvedValue([
            {
                ...RUNNING,
                QB_Object__c: 'Item',
                Salesforce_Object__c: 'Product2'
            }
        ]);
        const element = await render();
        const item = job(element, 'job-1');
        expect(item.querySelector('.slds-text-title_bold').textContent).toBe(
            'Product/Service (Item) → Product2'
        );
        expect(item.querySelector('[data-action="cancel"]').label).toBe(
            'Cancel Product/Service (Item) sync'
        );
    });

    it('polls while a job runs and stops when it is done', async () => {
        jest.useFakeTimers();
        listJobs.mockResolvedValueOnce([RUNNING]).mockResolvedValueOnce([DONE]);
        const element = await render();
        expect(listJobs).toHaveBeenCalledTimes(1);
        jest.advanceTimersByTime(POLL_MS);
        await settle();
        expect(listJobs).toHaveBeenCalledTimes(2);
        expect(
            job(element, 'job-1').querySelector('[data-action="cancel"]')
        ).toBeNull();
        jest.advanceTimersByTime(POLL_MS * 3);
        await settle();
        expect(listJobs).toHaveBeenCalledTimes(2);
    });

    it('cancels a job by its key and reads the jobs again', async () => {
        listJobs
            .mockResolvedValueOnce([RUNNING])
            .mockResolvedValue([{ ...RUNNING, State__c: 'Cancelled' }]);
        cancelBackfill.mockResolvedValue({ id: 'job-1', state: 'Cancelled' });
        const element = await render();
        job(element, 'job-1').querySelector('[data-action="cancel"]').click();
        await settle();
        expect(cancelBackfill).toHaveBeenCalledWith({ jobKey: 'job-1' });
        expect(
            job(element, 'job-1').querySelector('lightning-badge').label
        ).toBe('Cancelled');
    });

    it('shows the middleware message when a cancel is refused', async () => {
        listJobs.mockResolvedValue([RUNNING]);
        cancelBackfill.mockRejectedValue({
            body: {
                message:
                    'The sync middleware answered HTTP 409: job-1 has finished'
            }
        });
        const element = await render();
        job(element, 'job-1').querySelector('[data-action="cancel"]').click();
        await settle();
        const panel = element.shadowRoot.querySelector('[data-id="error"]');
        expect(panel).not.toBeNull();
    });

    it('says how to start one when there is no job', async () => {
        listJobs.mockResolvedValue([]);
        const element = await render();
        const empty = element.shadowRoot.querySelector('[data-id="empty"]');
        // The template compiler drops the white space where a line breaks beside an element.
        expect(empty.textContent.replace(/\s+/g, ' ')).toContain(
            'Start one with Sync existing records on Object Mapping'
        );
    });
});
