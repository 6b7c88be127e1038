// The save model every QB Setup pane shares: edits stay drafts until Save, a pane
// with drafts says so and warns before they are thrown away, and after Save the
// page reads back whether the middleware took the change (QBConfigChangedNotifier
// records its outcome on the company: Config_Notified_At__c or
// Config_Notification_Error__c).

// The notification is a queued Apex job that runs seconds after the save; there is
// no event to wait for, so its outcome is read back every 2 s for up to 30 s.
export const LIVE_POLL_MS = 2000;
export const LIVE_POLL_TRIES = 15;

export const LIVE = {
    WAITING: 'waiting',
    LIVE: 'live',
    FAILED: 'failed',
    UNCONFIRMED: 'unconfirmed'
};

function canonical(value) {
    if (Array.isArray(value)) {
        return value.map(canonical);
    }
    if (value && typeof value === 'object') {
        return Object.keys(value)
            .sort()
            .reduce((copy, key) => {
                // A field never set and one cleared to '' are the same draft.
                if (value[key] !== undefined && value[key] !== '') {
                    copy[key] = canonical(value[key]);
                }
                return copy;
            }, {});
    }
    return value;
}

/** Whether `current` differs from `saved` (key order, undefined and '' do not count). */
export function hasUnsavedChanges(saved, current) {
    return (
        JSON.stringify(canonical(saved)) !== JSON.stringify(canonical(current))
    );
}

/** Whether the company's notification outcome moved on from `before`. */
export function notificationChanged(before, after) {
    return (
        after?.Config_Notified_At__c !== before?.Config_Notified_At__c ||
        after?.Config_Notification_Error__c !==
            before?.Config_Notification_Error__c
    );
}

/** The outcome a read-back notification stands for: live, failed, or still waiting. */
export function liveStateOf(before, after) {
    if (!notificationChanged(before, after)) {
        return LIVE.WAITING;
    }
    return after?.Config_Notification_Error__c ? LIVE.FAILED : LIVE.LIVE;
}

function timeOf(isoDatetime) {
    return new Intl.DateTimeFormat(undefined, {
        hour: 'numeric',
        minute: '2-digit',
        second: '2-digit'
    }).format(new Date(isoDatetime));
}

/** What the save bar says after a Save, for a state and the company's notification. */
export function liveMessage(state, notification) {
    switch (state) {
        case LIVE.WAITING:
            return 'Saved. Waiting for the sync middleware to take the change…';
        case LIVE.LIVE:
            return `Saved. Live in the middleware at ${timeOf(notification.Config_Notified_At__c)}.`;
        case LIVE.FAILED:
            return `Saved, but the middleware was not told: ${notification.Config_Notification_Error__c} Workers keep the previous configuration until they reload it.`;
        default:
            // QBSYNC_CONFIG_TTL_SECONDS (docs/operating.md): workers reload their configuration.
            return 'Saved. The middleware has not confirmed the change yet; its workers pick it up when they next reload their configuration (every minute by default).';
    }
}

/**
 * Reads the notification (`read()`) every LIVE_POLL_MS until it moved on from
 * `before`, LIVE_POLL_TRIES times at most; calls `onOutcome(state, notification)`
 * once with LIVE, FAILED or UNCONFIRMED (or FAILED with the read's error).
 * @returns {Function} stops watching
 */
export function watchNotification(read, before, onOutcome) {
    let timer;
    let stopped = false;
    const poll = (triesLeft) => {
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        timer = setTimeout(async () => {
            let after;
            try {
                after = await read();
            } catch (error) {
                if (!stopped) {
                    onOutcome(LIVE.UNCONFIRMED, undefined, error);
                }
                return;
            }
            if (stopped) {
                return;
            }
            const state = liveStateOf(before, after);
            if (state !== LIVE.WAITING) {
                onOutcome(state, after);
            } else if (triesLeft > 1) {
                poll(triesLeft - 1);
            } else {
                onOutcome(LIVE.UNCONFIRMED, after);
            }
        }, LIVE_POLL_MS);
    };
    poll(LIVE_POLL_TRIES);
    return () => {
        stopped = true;
        clearTimeout(timer);
    };
}

/**
 * While `hasUnsaved()` is true, leaving or reloading the browser tab asks first
 * (the browser's own dialog: "beforeunload", MDN Window: beforeunload event).
 * @returns {Function} removes the guard
 */
export function guardUnload(hasUnsaved) {
    const listener = (event) => {
        if (hasUnsaved()) {
            event.preventDefault();
            // Chromium before 119 asks only when returnValue is set.
            event.returnValue = '';
        }
    };
    window.addEventListener('beforeunload', listener);
    return () => window.removeEventListener('beforeunload', listener);
}

export const LEAVE_DIALOG = {
    title: 'Leave without saving?',
    message:
        'This pane has changes that are not saved. Leaving throws them away.',
    confirmLabel: 'Leave without saving',
    cancelLabel: 'Stay'
};

/** Asks through a qbConfirmDialog whether to throw unsaved edits away. */
export function confirmLeave(dialog) {
    return dialog.open({ ...LEAVE_DIALOG, confirmVariant: 'destructive' });
}
