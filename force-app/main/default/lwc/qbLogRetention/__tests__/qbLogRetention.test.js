import { createElement } from 'lwc';
import QbLogRetention from 'c/qbLogRetention';
import saveLogRetention from '@salesforce/apex/QBSetupController.saveLogRetention';

jest.mock(
    '@salesforce/apex/QBSetupController.saveLogRetention',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const COMPANY = {
    Id: 'a00Hs0000000001AAA',
    Name: 'Sandbox Company US',
    Realm_Id__c: '9341455130166501',
    Log_Retention_Success_Days__c: 7,
    Log_Retention_Failure_Days__c: 30
};
const RULE_MESSAGE =
    'Keep sync logs 1 to 3650 days, and failed logs at least as long as successful ones.';

function render(company) {
    const element = createElement('c-qb-log-retention', { is: QbLogRetention });
    element.company = company;
    document.body.appendChild(element);
    // The lightning-input stub's reportValidity answers nothing; a real one answers true when
    // the value is within min, max and step.
    element.shadowRoot.querySelectorAll('lightning-input').forEach((input) => {
        input.reportValidity = jest.fn(() => true);
    });
    return element;
}

const byId = (element, id) =>
    element.shadowRoot.querySelector(`[data-id="${id}"]`);

async function settle() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function type(element, id, value) {
    const input = byId(element, id);
    input.value = value;
    input.dispatchEvent(new CustomEvent('change'));
}

describe('c-qb-log-retention', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it('shows the company days, or the defaults when none are stored', async () => {
        const element = render(COMPANY);
        await settle();
        expect(byId(element, 'success-days').value).toBe(7);
        expect(byId(element, 'failure-days').value).toBe(30);
        expect(byId(element, 'save-retention').disabled).toBe(true);

        element.company = { Id: COMPANY.Id, Name: 'No settings' };
        await settle();
        expect(byId(element, 'success-days').value).toBe(14);
        expect(byId(element, 'failure-days').value).toBe(90);
        expect(byId(element, 'success-days').label).toBe(
            'Keep successful logs (days)'
        );
        expect(byId(element, 'success-days').min).toBe('1');
        expect(byId(element, 'failure-days').max).toBe('3650');
    });

    it('saves the edited days and reports the stored company', async () => {
        const stored = {
            ...COMPANY,
            Log_Retention_Success_Days__c: 10,
            Log_Retention_Failure_Days__c: 120
        };
        saveLogRetention.mockResolvedValue(stored);
        const element = render(COMPANY);
        const saved = jest.fn();
        const dirty = jest.fn();
        element.addEventListener('saved', saved);
        element.addEventListener('dirtychange', dirty);
        await settle();
        type(element, 'success-days', '10');
        type(element, 'failure-days', '120');
        await settle();
        expect(byId(element, 'save-retention').disabled).toBe(false);
        expect(byId(element, 'retention-unsaved').textContent).toBe('Unsaved');
        // Once: the first edit made the form dirty.
        expect(dirty.mock.calls.map(([event]) => event.detail)).toEqual([
            { dirty: true }
        ]);
        byId(element, 'save-retention').click();
        await settle();
        expect(saveLogRetention).toHaveBeenCalledWith({
            companyId: COMPANY.Id,
            successDays: 10,
            failureDays: 120
        });
        expect(saved).toHaveBeenCalledTimes(1);
        expect(saved.mock.calls[0][0].detail.company).toEqual(stored);
        expect(byId(element, 'retention-status').textContent).toBe(
            'Retention saved.'
        );
        expect(byId(element, 'success-days').value).toBe(10);
        expect(byId(element, 'save-retention').disabled).toBe(true);
        expect(byId(element, 'retention-unsaved')).toBeNull();
        expect(dirty.mock.calls[1][0].detail).toEqual({ dirty: false });
    });

    it('sends a cleared field as null, meaning the default', async () => {
        saveLogRetention.mockResolvedValue(COMPANY);
        const element = render(COMPANY);
        await settle();
        type(element, 'success-days', '');
        await settle();
        byId(element, 'save-retention').click();
        await settle();
        expect(saveLogRetention).toHaveBeenCalledWith({
            companyId: COMPANY.Id,
            successDays: null,
            failureDays: 30
        });
    });

    it('shows the validation rule message when Salesforce refuses', async () => {
        saveLogRetention.mockRejectedValue({
            body: { message: RULE_MESSAGE },
            ok: false,
            status: 500,
            statusText: 'Server Error'
        });
        const element = render(COMPANY);
        const saved = jest.fn();
        element.addEventListener('saved', saved);
        await settle();
        type(element, 'failure-days', '3');
        await settle();
        byId(element, 'save-retention').click();
        await settle();
        expect(byId(element, 'error').shadowRoot.textContent).toContain(
            RULE_MESSAGE
        );
        expect(saved).not.toHaveBeenCalled();
        expect(byId(element, 'retention-status').textContent).toBe('');
    });

    it('does not save a value the inputs report invalid', async () => {
        const element = render(COMPANY);
        await settle();
        type(element, 'success-days', '0');
        byId(element, 'success-days').reportValidity = jest.fn(() => false);
        await settle();
        byId(element, 'save-retention').click();
        await settle();
        expect(saveLogRetention).not.toHaveBeenCalled();
    });

    it('is accessible, before and after a save', async () => {
        saveLogRetention.mockResolvedValue(COMPANY);
        const element = render(COMPANY);
        await expect(element).toBeAccessible();
        type(element, 'success-days', '8');
        await settle();
        byId(element, 'save-retention').click();
        await settle();
        await expect(element).toBeAccessible();
    });
});
