import { createElement } from 'lwc';
import QbMatchReview from 'c/qbMatchReview';
import listMatchReviews from '@salesforce/apex/QBBackfillController.listMatchReviews';
import resolveMatchReview from '@salesforce/apex/QBBackfillController.resolveMatchReview';

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

const REVIEW = {
    id: 'a06000000000001AAA',
    name: 'MR-00001',
    qbObject: 'Customer',
    qbRecordId: '58',
    qbRecordName: 'Acme Corp',
    salesforceObject: 'Account',
    matchedBy: 'Name',
    candidates: [
        { id: '001000000000001AAA', name: 'Acme Corp' },
        { id: '001000000000002AAA', name: 'Acme Corp.' }
    ]
};

async function settle() {
    for (let i = 0; i < 10; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

async function render() {
    const element = createElement('c-qb-match-review', { is: QbMatchReview });
    element.realmId = '4620816365';
    document.body.appendChild(element);
    await settle();
    return element;
}

const button = (element, action) =>
    element.shadowRoot.querySelector(
        `lightning-button[data-action="${action}"]`
    );

describe('c-qb-match-review', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('names the QuickBooks object by its catalog label', async () => {
        listMatchReviews.mockResolvedValue([
            {
                ...REVIEW,
                qbObject: 'Item',
                salesforceObject: 'Product2',
                matchedBy: 'SKU'
            }
        ]);
        const element = await render();
        await new Promise((resolve) => {
            setTimeout(resolve, 0);
        });
        expect(element.shadowRoot.querySelector('th p').textContent).toBe(
            'Product/Service (Item) · 2 Product2 records match by SKU'
        );
    });

    it('lists each review with its candidates and links the chosen one', async () => {
        listMatchReviews.mockResolvedValueOnce([REVIEW]).mockResolvedValue([]);
        resolveMatchReview.mockResolvedValue({
            status: 'Linked',
            recordId: '001000000000002AAA'
        });
        const element = await render();
        const chooser = element.shadowRoot.querySelector('lightning-combobox');
        expect(chooser.options.map((o) => o.label)).toEqual([
            'Acme Corp',
            'Acme Corp.'
        ]);
        expect(chooser.label).toBe('Existing Account for Acme Corp');
        expect(button(element, 'link').disabled).toBe(true);
        await expect(element).toBeAccessible();

        chooser.dispatchEvent(
            new CustomEvent('change', {
                detail: { value: '001000000000002AAA' }
            })
        );
        await settle();
        expect(button(element, 'link').disabled).toBe(false);
        button(element, 'link').click();
        await settle();
        expect(resolveMatchReview).toHaveBeenCalledWith({
            reviewId: REVIEW.id,
            action: 'link',
            recordId: '001000000000002AAA'
        });
        expect(element.shadowRoot.querySelector('table')).toBeNull();
    });

    it.each(['create', 'skip'])('%s sends no record', async (action) => {
        listMatchReviews.mockResolvedValue([REVIEW]);
        resolveMatchReview.mockResolvedValue({ status: 'Skipped' });
        const element = await render();
        button(element, action).click();
        await settle();
        expect(resolveMatchReview).toHaveBeenCalledWith({
            reviewId: REVIEW.id,
            action,
            recordId: null
        });
    });

    it('keeps a chosen candidate when the list is read again', async () => {
        listMatchReviews.mockResolvedValue([REVIEW]);
        const element = await render();
        const chooser = element.shadowRoot.querySelector('lightning-combobox');
        chooser.dispatchEvent(
            new CustomEvent('change', {
                detail: { value: '001000000000001AAA' }
            })
        );
        await element.refresh();
        await settle();
        expect(
            element.shadowRoot.querySelector('lightning-combobox').value
        ).toBe('001000000000001AAA');
    });

    it('shows the middleware message when a resolution is refused', async () => {
        listMatchReviews.mockResolvedValue([REVIEW]);
        resolveMatchReview.mockRejectedValue({
            body: {
                message:
                    'The sync middleware answered HTTP 409: already resolved'
            }
        });
        const element = await render();
        button(element, 'skip').click();
        await settle();
        expect(
            element.shadowRoot.querySelector('[data-id="error"]')
        ).not.toBeNull();
    });
});
