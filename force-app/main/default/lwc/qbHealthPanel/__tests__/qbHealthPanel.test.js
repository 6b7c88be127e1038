import { createElement } from 'lwc';
import QbHealthPanel from 'c/qbHealthPanel';
import { subscribe, unsubscribe, onError } from 'lightning/empApi';
import getHealth from '@salesforce/apex/QBHealthController.getHealth';
import getRecentLogs from '@salesforce/apex/QBHealthController.getRecentLogs';

jest.mock(
    '@salesforce/apex/QBHealthController.getHealth',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBHealthController.getRecentLogs',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBHealthController.testConnection',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const COMPANY = 'a00000000000001AAA';
const SUBSCRIPTION = { id: '1', channel: '/data/QB_Sync_Log__ChangeEvent' };

const flush = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

function health(failures) {
    return {
        lastSuccessAt: '2026-03-01T12:00:00.000Z',
        failuresLast24h: failures,
        backlog: 0,
        objects: [
            { qbObject: 'Customer', succeeded: 3, failed: failures, other: 0 }
        ]
    };
}

function log(id, name, status) {
    return {
        Id: id,
        Name: `SL-${id}`,
        Record_Name__c: name,
        QB_Object__c: 'Customer',
        Status__c: status,
        Latency_Ms__c: 850,
        Salesforce_Object__c: 'Account',
        Salesforce_Record_Id__c: '001000000000001AAA',
        Synced_At__c: '2026-03-01T12:00:00.000Z'
    };
}

async function render() {
    const element = createElement('c-qb-health-panel', { is: QbHealthPanel });
    element.companyId = COMPANY;
    document.body.appendChild(element);
    await flush();
    await flush();
    return element;
}

const feedNames = (element) =>
    [
        ...element.shadowRoot
            .querySelector('c-qb-live-feed')
            .shadowRoot.querySelectorAll('[data-id="feed-row"] a')
    ].map((link) => link.textContent);

const failuresText = (element) =>
    element.shadowRoot
        .querySelector('c-qb-health-strip')
        .shadowRoot.querySelector('[data-id="open-failed"]')
        .textContent.trim();

describe('c-qb-health-panel', () => {
    let onMessage;

    beforeEach(() => {
        subscribe.mockImplementation((channel, replayId, callback) => {
            onMessage = callback;
            return Promise.resolve(SUBSCRIPTION);
        });
        getHealth.mockResolvedValue(health(0));
        getRecentLogs.mockResolvedValue([log('1', 'Amy', 'Success')]);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('subscribes to the sync log change events, new ones only', async () => {
        const element = await render();
        expect(subscribe).toHaveBeenCalledWith(
            '/data/QB_Sync_Log__ChangeEvent',
            -1,
            expect.any(Function)
        );
        expect(onError).toHaveBeenCalled();
        expect(getHealth).toHaveBeenCalledWith({ companyId: COMPANY });
        expect(getRecentLogs).toHaveBeenCalledWith({
            companyId: COMPANY,
            size: 15
        });
        expect(feedNames(element)).toEqual(['Amy']);
        const live = element.shadowRoot
            .querySelector('c-qb-live-feed')
            .shadowRoot.querySelector('[data-id="live"]');
        expect(live).not.toBeNull();
    });

    it('refreshes the strip and the feed on a change event, without reload', async () => {
        const element = await render();
        getHealth.mockResolvedValue(health(1));
        getRecentLogs.mockResolvedValue([
            log('2', 'Bill', 'Failed'),
            log('1', 'Amy', 'Success')
        ]);
        onMessage({
            channel: '/data/QB_Sync_Log__ChangeEvent',
            data: {
                payload: {
                    ChangeEventHeader: {
                        changeType: 'CREATE',
                        recordIds: ['a02']
                    },
                    Company__c: COMPANY
                },
                event: { replayId: 7 }
            }
        });
        await flush();
        await flush();
        expect(getHealth).toHaveBeenCalledTimes(2);
        expect(feedNames(element)).toEqual(['Bill', 'Amy']);
        expect(failuresText(element)).toBe('1 failure');
    });

    it("ignores another company's sync log", async () => {
        await render();
        onMessage({
            data: { payload: { Company__c: 'a00000000000002AAA' } }
        });
        await flush();
        expect(getHealth).toHaveBeenCalledTimes(1);
    });

    it('unsubscribes when it leaves the page', async () => {
        const element = await render();
        document.body.removeChild(element);
        expect(unsubscribe).toHaveBeenCalledWith(
            SUBSCRIPTION,
            expect.any(Function)
        );
    });

    it('says live updates are off when the subscription fails, and keeps the data', async () => {
        subscribe.mockRejectedValue({ error: '403::Not allowed to subscribe' });
        const element = await render();
        const warning = element.shadowRoot.querySelector(
            '[data-id="streaming-warning"]'
        );
        expect(warning.textContent).toContain('Live updates are off');
        expect(feedNames(element)).toEqual(['Amy']);
    });

    it('shows an error when the health cannot be loaded', async () => {
        getHealth.mockRejectedValue({ body: { message: 'No access' } });
        const element = await render();
        const panel = element.shadowRoot.querySelector('[data-id="error"]');
        expect(panel).not.toBeNull();
    });
});
