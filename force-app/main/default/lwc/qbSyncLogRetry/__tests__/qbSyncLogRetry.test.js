import { createElement } from 'lwc';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import QbSyncLogRetry from 'c/qbSyncLogRetry';
import retry from '@salesforce/apex/QBSyncLogController.retry';

jest.mock(
    '@salesforce/apex/QBSyncLogController.retry',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
// sfdx-lwc-jest ships no stub of lightning/actions; the platform closes the
// action on this event, the stand-in names it `closeaction`.
jest.mock(
    'lightning/actions',
    () => ({
        CloseActionScreenEvent: class extends CustomEvent {
            constructor() {
                super('closeaction');
            }
        }
    }),
    { virtual: true }
);

const FAILED_LOG = require('./data/failedSyncLog.json');
const RECORD_ID = FAILED_LOG.id;
const APEX_ERROR = {
    body: {
        message:
            "The sync middleware answered HTTP 409: the event 'ce:58' is done, not failed or dead: there is nothing to retry"
    },
    ok: false,
    status: 500,
    statusText: 'Server Error'
};

function withStatus(status) {
    return {
        ...FAILED_LOG,
        fields: {
            ...FAILED_LOG.fields,
            Status__c: { value: status, displayValue: status }
        }
    };
}

function render() {
    const element = createElement('c-qb-sync-log-retry', {
        is: QbSyncLogRetry
    });
    element.recordId = RECORD_ID;
    document.body.appendChild(element);
    return element;
}

// Records the toasts and the close requests the action dispatches.
function listen(element) {
    const seen = { toasts: [], closed: 0 };
    element.addEventListener('lightning__showtoast', (event) =>
        seen.toasts.push(event.detail)
    );
    element.addEventListener('closeaction', () => {
        seen.closed += 1;
    });
    return seen;
}

const byId = (element, id) =>
    element.shadowRoot.querySelector(`[data-id="${id}"]`);

const errorText = (element) => byId(element, 'error').shadowRoot.textContent;

// Settles the awaited Apex call, the record notification and the re-render.
async function settle() {
    await new Promise((resolve) => {
        setTimeout(resolve, 0);
    });
}

describe('c-qb-sync-log-retry', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('explains the retry of a failed log and enables Retry', async () => {
        const element = render();
        getRecord.emit(FAILED_LOG);
        await settle();

        expect(byId(element, 'explanation').textContent).toContain(
            'SL-0000042 failed.'
        );
        expect(byId(element, 'retry').disabled).toBe(false);
        expect(byId(element, 'not-failed')).toBeNull();
        await expect(element).toBeAccessible();
    });

    it('retries, shows a success toast, refreshes the record and closes', async () => {
        retry.mockResolvedValue({
            Id: RECORD_ID,
            Name: 'SL-0000042',
            Status__c: 'Retrying'
        });
        const element = render();
        const seen = listen(element);
        getRecord.emit(FAILED_LOG);
        await settle();

        byId(element, 'retry').click();
        await settle();

        expect(retry).toHaveBeenCalledWith({ syncLogId: RECORD_ID });
        expect(seen.toasts).toEqual([
            {
                title: 'Retry requested',
                message:
                    'SL-0000042 is Retrying: the sync runs the event again.',
                variant: 'success'
            }
        ]);
        expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
            { recordId: RECORD_ID }
        ]);
        expect(seen.closed).toBe(1);
        expect(errorText(element)).toBe('');
    });

    it('keeps the action open with the middleware message when the retry is refused', async () => {
        retry.mockRejectedValue(APEX_ERROR);
        const element = render();
        const seen = listen(element);
        getRecord.emit(FAILED_LOG);
        await settle();

        byId(element, 'retry').click();
        await settle();

        expect(errorText(element)).toContain(APEX_ERROR.body.message);
        expect(seen.toasts.map((toast) => toast.variant)).toEqual(['error']);
        expect(seen.closed).toBe(0);
        expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
        expect(byId(element, 'retry').disabled).toBe(false);
        await expect(element).toBeAccessible();
    });

    it('refuses a log that is not failed before calling Apex', async () => {
        const element = render();
        getRecord.emit(withStatus('Success'));
        await settle();

        expect(byId(element, 'not-failed').textContent).toContain(
            'Only failed sync logs can be retried; SL-0000042 is Success.'
        );
        expect(byId(element, 'explanation')).toBeNull();
        expect(byId(element, 'retry').disabled).toBe(true);
    });

    it('disables Retry until the log is loaded', () => {
        const element = render();

        expect(byId(element, 'retry').disabled).toBe(true);
    });

    it('shows why the log could not be loaded', async () => {
        const element = render();
        getRecord.error({ message: 'The requested resource does not exist' });
        await settle();

        expect(byId(element, 'load-error')).not.toBeNull();
        expect(byId(element, 'retry').disabled).toBe(true);
    });

    it('closes on Cancel without calling Apex', async () => {
        const element = render();
        const seen = listen(element);
        getRecord.emit(FAILED_LOG);
        await settle();

        byId(element, 'cancel').click();

        expect(seen.closed).toBe(1);
        expect(retry).not.toHaveBeenCalled();
    });
});
