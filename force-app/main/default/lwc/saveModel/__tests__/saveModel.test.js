import {
    LIVE,
    LIVE_POLL_MS,
    LIVE_POLL_TRIES,
    hasUnsavedChanges,
    liveMessage,
    liveStateOf,
    watchNotification
} from 'c/saveModel';

const NOTIFIED = {
    Config_Notified_At__c: '2026-11-24T09:00:00.000Z',
    Config_Notification_Error__c: undefined
};
const LATER = {
    ...NOTIFIED,
    Config_Notified_At__c: '2026-11-24T09:05:07.000Z'
};
const FAILED = { ...NOTIFIED, Config_Notification_Error__c: 'HTTP 503.' };

// Settles awaited reads without timers (works with fake timers).
async function settle() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

describe('saveModel', () => {
    afterEach(() => {
        jest.useRealTimers();
    });

    it('compares drafts by value, not key order, undefined or empty text', () => {
        const saved = [{ qbField: 'Name', salesforceField: 'Name' }];
        expect(
            hasUnsavedChanges(saved, [
                { salesforceField: 'Name', qbField: 'Name', defaultValue: '' }
            ])
        ).toBe(false);
        expect(
            hasUnsavedChanges(saved, [
                { qbField: 'Name', salesforceField: 'Phone' }
            ])
        ).toBe(true);
        // A removed row, and rows in another order, are changes.
        expect(hasUnsavedChanges(saved, [])).toBe(true);
        expect(
            hasUnsavedChanges([{ a: 1 }, { a: 2 }], [{ a: 2 }, { a: 1 }])
        ).toBe(true);
        expect(hasUnsavedChanges(undefined, undefined)).toBe(false);
    });

    it('reads the notification outcome as live, failed or waiting', () => {
        expect(liveStateOf(NOTIFIED, NOTIFIED)).toBe(LIVE.WAITING);
        expect(liveStateOf(NOTIFIED, LATER)).toBe(LIVE.LIVE);
        expect(liveStateOf(NOTIFIED, FAILED)).toBe(LIVE.FAILED);
        // A company never notified before.
        expect(liveStateOf(undefined, LATER)).toBe(LIVE.LIVE);
    });

    it('says when the change went live, or why not', () => {
        expect(liveMessage(LIVE.LIVE, LATER)).toMatch(
            /^Saved\. Live in the middleware at .*5:07/
        );
        expect(liveMessage(LIVE.FAILED, FAILED)).toBe(
            'Saved, but the middleware was not told: HTTP 503. Workers keep the previous configuration until they reload it.'
        );
        expect(liveMessage(LIVE.WAITING)).toContain('Waiting');
        expect(liveMessage(LIVE.UNCONFIRMED)).toContain(
            'has not confirmed the change yet'
        );
    });

    it('watches until the outcome changes, then stops', async () => {
        jest.useFakeTimers();
        const read = jest
            .fn()
            .mockResolvedValueOnce(NOTIFIED)
            .mockResolvedValue(LATER);
        const onOutcome = jest.fn();

        watchNotification(read, NOTIFIED, onOutcome);
        jest.advanceTimersByTime(LIVE_POLL_MS);
        await settle();
        expect(onOutcome).not.toHaveBeenCalled();
        jest.advanceTimersByTime(LIVE_POLL_MS);
        await settle();
        expect(onOutcome).toHaveBeenCalledWith(LIVE.LIVE, LATER);
        jest.advanceTimersByTime(LIVE_POLL_MS * 5);
        await settle();
        expect(read).toHaveBeenCalledTimes(2);
    });

    it('gives up as unconfirmed after the last try, and can be stopped', async () => {
        jest.useFakeTimers();
        const read = jest.fn().mockResolvedValue(NOTIFIED);
        const onOutcome = jest.fn();

        watchNotification(read, NOTIFIED, onOutcome);
        for (let i = 0; i < LIVE_POLL_TRIES + 2; i++) {
            jest.advanceTimersByTime(LIVE_POLL_MS);
            // eslint-disable-next-line no-await-in-loop
            await settle();
        }
        expect(read).toHaveBeenCalledTimes(LIVE_POLL_TRIES);
        expect(onOutcome).toHaveBeenCalledWith(LIVE.UNCONFIRMED, NOTIFIED);

        const stopped = jest.fn();
        const stop = watchNotification(read, NOTIFIED, stopped);
        stop();
        jest.advanceTimersByTime(LIVE_POLL_MS * 3);
        await settle();
        expect(stopped).not.toHaveBeenCalled();
    });
});
