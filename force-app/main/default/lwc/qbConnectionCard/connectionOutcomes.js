// How a connect, a Reconnect or a Disconnect ended, as the card shows it: the error it keeps and
// the toast (lightning/platformShowToastEvent), which stays visible while the page reloads the
// companies.

// The middleware's callback page posts one of these to window.opener when the connect ends,
// to the org's Lightning origin only (middleware/qbsync/templates/oauth_result.html).
export const CONNECTED_MESSAGE = 'qbsync:connected';
export const FAILED_MESSAGE = 'qbsync:connect-failed';
export const CONNECT = 'connect';
export const RECONNECT = 'reconnect';

/** True for the callback page's messages, whatever else the window receives. */
export function isConsentMessage(data) {
    return data?.type === CONNECTED_MESSAGE || data?.type === FAILED_MESSAGE;
}

/**
 * The callback page's message (`data`) read for the consent `action` (CONNECT or RECONNECT):
 * whether a company was connected, the error to show, and the toast.
 */
export function consentOutcome(action, data) {
    if (data.type === FAILED_MESSAGE) {
        const error =
            typeof data.message === 'string' && data.message
                ? data.message
                : 'QuickBooks was not connected.';
        return {
            connected: false,
            error,
            toast: connectFailedToast(action, error)
        };
    }
    const name =
        typeof data.companyName === 'string' ? data.companyName : undefined;
    return {
        connected: true,
        error: undefined,
        toast: connectedToast(action, name)
    };
}

/** Intuit's consent succeeded: `action` is CONNECT or RECONNECT, `companyName` what it sent. */
export function connectedToast(action, companyName) {
    const company = companyName || 'The QuickBooks company';
    return action === RECONNECT
        ? {
              title: 'QuickBooks reconnected',
              message: `${company} is authorized again. Its changes sync, including those made while it was not connected.`,
              variant: 'success'
          }
        : {
              title: 'QuickBooks connected',
              message: `${company} is connected. Choose Setup to map its records.`,
              variant: 'success'
          };
}

/** The consent ended without a connection; `message` is the callback page's reason. */
export function connectFailedToast(action, message) {
    return {
        title:
            action === RECONNECT
                ? 'QuickBooks was not reconnected'
                : 'QuickBooks was not connected',
        message,
        variant: 'error',
        mode: 'sticky'
    };
}

export function disconnectedToast(name, realmId) {
    return {
        title: 'QuickBooks disconnected',
        message: `${name} (realm ${realmId}) is disconnected and its tokens are revoked. Its mappings are kept; Reconnect to sync it again.`,
        variant: 'success'
    };
}

export function disconnectFailedToast(message) {
    return {
        title: 'QuickBooks was not disconnected',
        message,
        variant: 'error',
        mode: 'sticky'
    };
}
