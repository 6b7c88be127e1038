import { createElement } from 'lwc';
import QbHealthStrip from 'c/qbHealthStrip';
import testConnection from '@salesforce/apex/QBHealthController.testConnection';
import { getNavigateCalledWith, resetNavigation } from 'lightning/navigation';

jest.mock(
    '@salesforce/apex/QBHealthController.testConnection',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
// The catalog is the package's own static resource (QBSync_Catalog), as Apex serves it.
jest.mock(
    '@salesforce/apex/QBCatalogController.getCatalog',
    () => require('../../../../../test/jest-mocks/apex/getCatalog'),
    { virtual: true }
);

const COMPANY = 'a00000000000001AAA';
const flush = () =>
    new Promise((resolve) => {
        setTimeout(resolve, 0);
    });

function render(health) {
    const element = createElement('c-qb-health-strip', { is: QbHealthStrip });
    element.companyId = COMPANY;
    element.health = health;
    document.body.appendChild(element);
    return element;
}

const byId = (element, id) =>
    element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-qb-health-strip', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
        resetNavigation();
    });

    it('shows failures, backlog and counts per object', () => {
        const element = render({
            lastSuccessAt: '2026-03-01T12:00:00.000Z',
            failuresLast24h: 2,
            backlog: 4,
            objects: [
                { qbObject: 'Customer', succeeded: 5, failed: 2, other: 1 },
                { qbObject: 'Invoice', succeeded: 1, failed: 0, other: 0 }
            ]
        });
        expect(byId(element, 'open-failed').textContent.trim()).toBe(
            '2 failures'
        );
        expect(byId(element, 'backlog').textContent).toContain('4 waiting');
        const rows = [
            ...element.shadowRoot.querySelectorAll('[data-id="object-count"]')
        ];
        expect(rows.map((row) => row.textContent)).toEqual([
            'Customer521',
            'Invoice100'
        ]);
    });

    it('names each QuickBooks object by its catalog label', async () => {
        const element = render({
            failuresLast24h: 0,
            backlog: 0,
            objects: [
                { qbObject: 'Item', succeeded: 3, failed: 0, other: 0 },
                { qbObject: null, succeeded: 0, failed: 1, other: 0 }
            ]
        });
        await flush();
        const rows = [
            ...element.shadowRoot.querySelectorAll('[data-id="object-count"]')
        ];
        expect(rows.map((row) => row.textContent)).toEqual([
            'Product/Service (Item)300',
            'Unknown object010'
        ]);
    });

    it('opens the Failed list view of sync logs', () => {
        const element = render({ failuresLast24h: 1, backlog: 0, objects: [] });
        byId(element, 'open-failed').click();
        expect(getNavigateCalledWith()).toEqual({
            type: 'standard__objectPage',
            attributes: { objectApiName: 'QB_Sync_Log__c', actionName: 'list' },
            state: { filterName: 'Failed' }
        });
    });

    it('says why the backlog is unknown when the middleware cannot be asked', () => {
        const element = render({
            failuresLast24h: 0,
            backlogError: 'The sync middleware could not be reached.',
            objects: []
        });
        expect(byId(element, 'backlog').textContent).toContain('Unknown');
        expect(byId(element, 'backlog-error').textContent).toContain(
            'could not be reached'
        );
        expect(byId(element, 'last-success').textContent).toContain('None yet');
    });

    it("tests the connection and shows QuickBooks' answer", async () => {
        testConnection.mockResolvedValue({
            ok: true,
            companyName: 'Sandbox Company'
        });
        const element = render({ failuresLast24h: 0, backlog: 0, objects: [] });
        byId(element, 'test-connection').click();
        await flush();
        expect(testConnection).toHaveBeenCalledWith({ companyId: COMPANY });
        expect(byId(element, 'test-result').textContent).toContain(
            'QuickBooks answered: Sandbox Company is reachable.'
        );
    });

    it('shows the reason in plain words when QuickBooks does not answer', async () => {
        testConnection.mockResolvedValue({
            ok: false,
            message: 'Click Reconnect and sign in to QuickBooks again.'
        });
        const element = render({ failuresLast24h: 0, backlog: 0, objects: [] });
        byId(element, 'test-connection').click();
        await flush();
        const result = byId(element, 'test-result');
        expect(result.className).toContain('slds-alert_error');
        expect(result.textContent).toContain('Click Reconnect');
    });

    it('shows an Apex error of the test', async () => {
        testConnection.mockRejectedValue({
            body: { message: 'The sync middleware answered HTTP 404.' }
        });
        const element = render({ failuresLast24h: 0, backlog: 0, objects: [] });
        byId(element, 'test-connection').click();
        await flush();
        expect(byId(element, 'test-result').textContent).toContain('HTTP 404');
    });

    it('is accessible', async () => {
        const element = render({
            failuresLast24h: 1,
            backlog: 2,
            objects: [
                { qbObject: 'Customer', succeeded: 1, failed: 1, other: 0 }
            ]
        });
        await expect(element).toBeAccessible();
    });
});
