import {
    CONNECT,
    RECONNECT,
    consentOutcome,
    isConsentMessage
} from '../connectionOutcomes';

describe('connectionOutcomes', () => {
    it('knows the callback page messages and nothing else', () => {
        expect(isConsentMessage({ type: 'qbsync:connected' })).toBe(true);
        expect(isConsentMessage({ type: 'qbsync:connect-failed' })).toBe(true);
        expect(isConsentMessage({ type: 'other' })).toBe(false);
        expect(isConsentMessage('qbsync:connected')).toBe(false);
        expect(isConsentMessage(undefined)).toBe(false);
    });

    it('reads a connect: the company name from QuickBooks in a success toast', () => {
        const outcome = consentOutcome(CONNECT, {
            type: 'qbsync:connected',
            companyName: 'Acme Ltd'
        });

        expect(outcome.connected).toBe(true);
        expect(outcome.error).toBeUndefined();
        expect(outcome.toast).toEqual({
            title: 'QuickBooks connected',
            message: 'Acme Ltd is connected. Choose Setup to map its records.',
            variant: 'success'
        });
    });

    it('names no company it was not told', () => {
        const outcome = consentOutcome(RECONNECT, {
            type: 'qbsync:connected',
            companyName: { html: '<b>x</b>' }
        });

        expect(outcome.toast.title).toBe('QuickBooks reconnected');
        expect(outcome.toast.message).toMatch(/^The QuickBooks company is/);
    });

    it('keeps a failure sticky with its reason, or a default one', () => {
        const told = consentOutcome(RECONNECT, {
            type: 'qbsync:connect-failed',
            message: 'You declined access at Intuit.'
        });
        const untold = consentOutcome(CONNECT, {
            type: 'qbsync:connect-failed'
        });

        expect(told.connected).toBe(false);
        expect(told.error).toBe('You declined access at Intuit.');
        expect(told.toast).toEqual({
            title: 'QuickBooks was not reconnected',
            message: 'You declined access at Intuit.',
            variant: 'error',
            mode: 'sticky'
        });
        expect(untold.error).toBe('QuickBooks was not connected.');
        expect(untold.toast.title).toBe('QuickBooks was not connected');
    });
});
