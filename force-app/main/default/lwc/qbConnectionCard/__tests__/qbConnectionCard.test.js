import { createElement } from 'lwc';
import LightningConfirm from 'lightning/confirm';
import QbConnectionCard, {
    POLL_INTERVAL_MS,
    POLL_LIMIT_MS,
    RENEW_INTERVAL_MS
} from 'c/qbConnectionCard';
import startConnection from '@salesforce/apex/QBConnectionController.startConnection';
import disconnect from '@salesforce/apex/QBConnectionController.disconnect';

jest.mock(
    '@salesforce/apex/QBConnectionController.startConnection',
    () => ({ default: jest.fn() }),
    { virtual: true }
);
jest.mock(
    '@salesforce/apex/QBConnectionController.disconnect',
    () => ({ default: jest.fn() }),
    { virtual: true }
);

const CONNECTED = require('./data/connectedCompany.json');
const DAY_MS = 24 * 60 * 60 * 1000;
const AUTHORIZATION_URL =
    'https://appcenter.intuit.com/connect/oauth2?client_id=abc&state=s1';
const RECONNECT_URL =
    'https://appcenter.intuit.com/connect/oauth2?client_id=abc&state=r1';
const MIDDLEWARE_ORIGIN = 'https://sync.example.org';
// QBConnectionController.startConnection's answer (QBMiddlewareClient.AuthorizationStart).
const startFor = ({ realmId }) =>
    Promise.resolve({
        authorizationUrl: realmId ? RECONNECT_URL : AUTHORIZATION_URL,
        expiresAt: '2026-11-24T10:10:00+00:00',
        callbackOrigin: MIDDLEWARE_ORIGIN,
        realmId
    });
const APEX_ERROR = {
    body: {
        message:
            'The sync middleware refused the API key (HTTP 401). Set the ApiKey parameter of the QBSync_Middleware external credential.'
    },
    ok: false,
    status: 500,
    statusText: 'Server Error'
};

function render(company) {
    const element = createElement('c-qb-connection-card', {
        is: QbConnectionCard
    });
    element.company = company;
    document.body.appendChild(element);
    return element;
}

const byId = (element, id) =>
    element.shadowRoot.querySelector(`[data-id="${id}"]`);

// What the error panel shows.
const errorText = (element) => byId(element, 'error').shadowRoot.textContent;

const inDays = (days) => new Date(Date.now() + days * DAY_MS).toISOString();

// Settles the awaited Apex call and the re-render (works with fake timers too).
async function settle() {
    for (let i = 0; i < 5; i++) {
        // eslint-disable-next-line no-await-in-loop
        await Promise.resolve();
    }
}

function fakePopup() {
    return { closed: false, location: { href: '' }, close: jest.fn() };
}

/**
 * The window Locker returns from window.open: a restricted proxy whose location cannot be
 * assigned (SecureWindow), so a card that navigates the window it opened fails.
 */
function lockerPopup() {
    const popup = { closed: false, close: jest.fn() };
    Object.defineProperty(popup, 'location', {
        get() {
            throw new Error('Access denied: location of a SecureWindow');
        },
        set() {
            throw new Error('Access denied: location of a SecureWindow');
        }
    });
    return popup;
}

/** A message as the browser delivers it: `origin` is the sender's, `source` whatever the
 * sandbox hands the component (under LWS a substitute object, never the opened window). */
function postFrom(source, data, origin = MIDDLEWARE_ORIGIN) {
    const event = new MessageEvent('message', { data, origin });
    // jsdom only accepts real windows as `source` in the constructor.
    Object.defineProperty(event, 'source', { value: source });
    window.dispatchEvent(event);
}

/** The toasts the card fires (ShowToastEvent's detail). */
function toasts(element) {
    const shown = [];
    element.addEventListener('lightning__showtoast', (event) =>
        shown.push(event.detail)
    );
    return shown;
}

function listen(element) {
    const handler = jest.fn();
    element.addEventListener('connectionchange', handler);
    return handler;
}

describe('c-qb-connection-card', () => {
    beforeEach(() => {
        startConnection.mockImplementation(startFor);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.restoreAllMocks();
        jest.clearAllMocks();
        jest.useRealTimers();
    });

    it('shows the company, realm, environment and a Connected badge', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(90)
        });

        expect(byId(element, 'name').textContent).toBe(CONNECTED.Name);
        expect(byId(element, 'realm').textContent.trim()).toBe(
            '9341453050298834'
        );
        expect(byId(element, 'environment').textContent.trim()).toBe('sandbox');
        const badge = byId(element, 'status');
        expect(badge.label).toBe('Connected');
        expect(badge.className).toContain('slds-theme_success');
        const dates = element.shadowRoot.querySelectorAll(
            'lightning-formatted-date-time'
        );
        expect(Array.from(dates).map((date) => date.value)).toContain(
            CONNECTED.Connected_At__c
        );
        expect(byId(element, 'expiry-warning')).toBeNull();
    });

    it('warns from 30 days before the refresh token expires', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(12.5)
        });

        expect(byId(element, 'expiry-warning').textContent).toContain(
            'expires in 12 days'
        );
    });

    it('uses the hard expiry when it comes first', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(90),
            Refresh_Token_Hard_Expires_At__c: inDays(3.5)
        });

        expect(byId(element, 'expiry-warning').textContent).toContain(
            'expires in 3 days'
        );
    });

    it('does not warn 31 days ahead', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(31.5)
        });

        expect(byId(element, 'expiry-warning')).toBeNull();
    });

    it('shows Reconnect Required with the last error', () => {
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required',
            Last_Error__c: 'invalid_grant: refresh token revoked'
        });

        const badge = byId(element, 'status');
        expect(badge.label).toBe('Reconnect Required');
        expect(badge.className).toContain('slds-theme_warning');
        expect(byId(element, 'last-error').textContent).toContain(
            'invalid_grant'
        );
    });

    it('says Not connected and disables Setup without a company', () => {
        const element = render(undefined);

        expect(byId(element, 'status').label).toBe('Not connected');
        expect(byId(element, 'not-connected')).not.toBeNull();
        expect(byId(element, 'setup').disabled).toBe(true);
        expect(byId(element, 'connect').label).toBe('Connect to QuickBooks');
        expect(byId(element, 'connect').variant).toBe('brand');
        expect(byId(element, 'disconnect')).toBeNull();
        expect(byId(element, 'reconnect')).toBeNull();
    });

    it('fires setup when Setup is clicked', () => {
        const element = render(CONNECTED);
        const handler = jest.fn();
        element.addEventListener('setup', handler);

        byId(element, 'setup').click();

        expect(handler).toHaveBeenCalledTimes(1);
    });

    it('offers to connect another company next to a connected one', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(90)
        });

        expect(byId(element, 'connect').label).toBe('Connect another company');
        expect(byId(element, 'disconnect')).not.toBeNull();
        // Re-authorizing the shown company needs no "Connect another company".
        expect(byId(element, 'reconnect').variant).toBe('neutral');
    });

    it('makes Reconnect the main action when a new consent is needed', () => {
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });

        expect(byId(element, 'reconnect').variant).toBe('brand');
    });

    it('shows when the keep-alive last renewed the tokens', () => {
        const element = render({
            ...CONNECTED,
            Renewed_At__c: '2026-11-20T04:00:00.000Z'
        });

        expect(
            byId(element, 'renewed').querySelector(
                'lightning-formatted-date-time'
            ).value
        ).toBe('2026-11-20T04:00:00.000Z');
    });

    it('leaves out Renewed at until the tokens were renewed', () => {
        const element = render(CONNECTED);

        expect(byId(element, 'renewed')).toBeNull();
    });

    it('shows no token dates for a disconnected company', () => {
        const element = render({
            ...CONNECTED,
            Status__c: 'Disconnected',
            Renewed_At__c: '2026-11-20T04:00:00.000Z'
        });

        expect(byId(element, 'refresh-expires')).toBeNull();
        expect(byId(element, 'renewed')).toBeNull();
        const dates = Array.from(
            element.shadowRoot.querySelectorAll('lightning-formatted-date-time')
        ).map((date) => date.value);
        expect(dates).not.toContain(CONNECTED.Refresh_Token_Expires_At__c);
        expect(dates).not.toContain(CONNECTED.Refresh_Token_Hard_Expires_At__c);
    });

    it('shows a long name cut on screen but whole in its title and text', () => {
        const name = `${'Acme Landscaping and Design Holdings '.repeat(2)}Ltd`;
        const element = render({ ...CONNECTED, Name: name });

        const shown = byId(element, 'name');
        expect(shown.classList).toContain('slds-truncate');
        expect(shown.title).toBe(name);
        expect(shown.textContent.trim()).toBe(name);
    });

    it.each(['Reconnect Required', 'Disconnected'])(
        'offers Reconnect when the status is %s',
        (status) => {
            const element = render({ ...CONNECTED, Status__c: status });

            expect(byId(element, 'reconnect')).not.toBeNull();
            expect(byId(element, 'disconnect') === null).toBe(
                status === 'Disconnected'
            );
        }
    );

    it('offers Reconnect while the refresh-token warning shows', () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(10.5)
        });

        expect(byId(element, 'expiry-warning')).not.toBeNull();
        expect(byId(element, 'reconnect')).not.toBeNull();
    });

    it('fetches the consent links when it loads: Connect, and Reconnect for the company', async () => {
        render({ ...CONNECTED, Status__c: 'Reconnect Required' });
        await settle();

        expect(startConnection.mock.calls).toEqual([
            [{ realmId: null }],
            [{ realmId: '9341453050298834' }]
        ]);
    });

    it('fetches the Reconnect link of a Connected company too', async () => {
        render({ ...CONNECTED, Refresh_Token_Expires_At__c: inDays(90) });
        await settle();

        expect(startConnection.mock.calls).toEqual([
            [{ realmId: null }],
            [{ realmId: '9341453050298834' }]
        ]);
    });

    it('fetches no Reconnect link without a company', async () => {
        render(undefined);
        await settle();

        expect(startConnection.mock.calls).toEqual([[{ realmId: null }]]);
    });

    it('toasts a connect with the name QuickBooks sent', async () => {
        jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        const element = render(undefined);
        const shown = toasts(element);
        await settle();
        byId(element, 'connect').click();

        postFrom({}, { type: 'qbsync:connected', companyName: 'Acme Ltd' });
        await settle();

        expect(shown).toEqual([
            expect.objectContaining({
                title: 'QuickBooks connected',
                variant: 'success',
                message: expect.stringContaining('Acme Ltd is connected')
            })
        ]);
    });

    it('toasts a Reconnect of a Connected company as a reconnect', async () => {
        jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(90)
        });
        const shown = toasts(element);
        const changed = listen(element);
        await settle();
        byId(element, 'reconnect').click();

        postFrom({}, { type: 'qbsync:connected', companyName: CONNECTED.Name });
        await settle();

        expect(shown.map((toast) => [toast.title, toast.variant])).toEqual([
            ['QuickBooks reconnected', 'success']
        ]);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: true });
    });

    it('fetches the Reconnect link of the company it is given next', async () => {
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });
        await settle();

        element.company = {
            ...CONNECTED,
            Realm_Id__c: '4620816365',
            Status__c: 'Reconnect Required'
        };
        await settle();

        expect(startConnection.mock.calls.slice(-1)).toEqual([
            [{ realmId: '4620816365' }]
        ]);
        const open = jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        byId(element, 'reconnect').click();
        expect(open.mock.calls[0][0]).toBe(RECONNECT_URL);
    });

    it('opens the consent URL in the click itself, with nothing awaited before', async () => {
        const popup = fakePopup();
        const open = jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(undefined);
        await settle();

        byId(element, 'connect').click();

        // Synchronously, in the click: browsers block a window opened after an await.
        expect(open).toHaveBeenCalledTimes(1);
        expect(open.mock.calls[0][0]).toBe(AUTHORIZATION_URL);
        await settle();
        expect(popup.location.href).toBe('');
        expect(byId(element, 'waiting')).not.toBeNull();
        expect(byId(element, 'connect').disabled).toBe(true);
    });

    it('connects under Locker, where the opened window cannot be navigated', async () => {
        const popup = lockerPopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(undefined);
        const changed = listen(element);
        await settle();

        byId(element, 'connect').click();
        await settle();

        expect(byId(element, 'error')).toBeNull();
        expect(byId(element, 'waiting')).not.toBeNull();
        postFrom({}, { type: 'qbsync:connected' });
        await settle();
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: true });
    });

    it('goes on when the restricted window refuses to say whether it is closed or to close', async () => {
        jest.useFakeTimers();
        const popup = lockerPopup();
        Object.defineProperty(popup, 'closed', {
            get() {
                throw new Error('Access denied: closed of a SecureWindow');
            }
        });
        popup.close.mockImplementation(() => {
            throw new Error('Access denied: close of a SecureWindow');
        });
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(undefined);
        const changed = listen(element);
        await settle();
        byId(element, 'connect').click();
        await settle();

        jest.advanceTimersByTime(POLL_INTERVAL_MS * 3);
        expect(changed).not.toHaveBeenCalled();
        postFrom({}, { type: 'qbsync:connected' });
        await settle();

        expect(changed.mock.calls[0][0].detail).toEqual({ connected: true });
        expect(byId(element, 'waiting')).toBeNull();
    });

    it('takes the report under Lightning Web Security, where event.source is a substitute', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(undefined);
        const changed = listen(element);
        await settle();
        byId(element, 'connect').click();
        await settle();

        // LWS hands the component a stand-in, never the window it opened.
        postFrom({ postMessage: jest.fn() }, { type: 'qbsync:connected' });
        await settle();

        expect(changed).toHaveBeenCalledTimes(1);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: true });
        expect(popup.close).toHaveBeenCalled();
        expect(byId(element, 'waiting')).toBeNull();
        expect(byId(element, 'connect').disabled).toBe(false);
    });

    it('ignores messages from other origins and of other types', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(undefined);
        const changed = listen(element);
        await settle();
        byId(element, 'connect').click();
        await settle();

        postFrom(
            popup,
            { type: 'qbsync:connected' },
            'https://evil.example.com'
        );
        postFrom(popup, { type: 'qbsync:connected' }, 'null');
        postFrom(popup, { type: 'something-else' });
        await settle();

        expect(changed).not.toHaveBeenCalled();
        expect(byId(element, 'waiting')).not.toBeNull();
    });

    it('shows why a connect failed, as the callback page reports it', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });
        const changed = listen(element);
        const shown = toasts(element);
        await settle();
        byId(element, 'reconnect').click();
        await settle();

        postFrom(
            {},
            {
                type: 'qbsync:connect-failed',
                realmId: '9341453050298834',
                message:
                    "QuickBooks was not connected: Salesforce did not record the connection. The company's existing connection was left as it was."
            }
        );
        await settle();

        expect(errorText(element)).toContain(
            'existing connection was left as it was'
        );
        expect(shown).toEqual([
            expect.objectContaining({
                title: 'QuickBooks was not reconnected',
                variant: 'error',
                message: expect.stringContaining('left as it was')
            })
        ]);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: false });
        expect(byId(element, 'waiting')).toBeNull();
    });

    it('reconnects the shown company with its own link', async () => {
        const open = jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });
        await settle();

        byId(element, 'reconnect').click();

        expect(open.mock.calls[0][0]).toBe(RECONNECT_URL);
    });

    it('uses a link once and fetches the next one', async () => {
        jest.spyOn(window, 'open').mockReturnValue(null);
        const element = render(undefined);
        await settle();
        expect(startConnection).toHaveBeenCalledTimes(1);

        byId(element, 'connect').click();
        await settle();

        expect(startConnection).toHaveBeenCalledTimes(2);
    });

    it('renews the links before their 10 minutes end', async () => {
        jest.useFakeTimers();
        render({ ...CONNECTED, Status__c: 'Reconnect Required' });
        await settle();
        expect(startConnection).toHaveBeenCalledTimes(2);

        jest.advanceTimersByTime(RENEW_INTERVAL_MS);
        await settle();

        expect(RENEW_INTERVAL_MS).toBeLessThan(10 * 60 * 1000);
        expect(startConnection).toHaveBeenCalledTimes(4);
    });

    it('shows why there is no link when Connect is clicked, and fetches it again', async () => {
        startConnection.mockRejectedValueOnce(APEX_ERROR);
        const open = jest.spyOn(window, 'open');
        const element = render(undefined);
        await settle();
        // A card that is only looked at stays quiet.
        expect(byId(element, 'error')).toBeNull();

        byId(element, 'connect').click();
        await settle();

        expect(open).not.toHaveBeenCalled();
        expect(errorText(element)).toContain(
            'The sync middleware refused the API key (HTTP 401).'
        );
        expect(startConnection).toHaveBeenCalledTimes(2);
    });

    it('says so when a link is still on its way', async () => {
        startConnection.mockReturnValueOnce(new Promise(() => {}));
        const open = jest.spyOn(window, 'open');
        const element = render(undefined);
        await settle();

        byId(element, 'connect').click();
        await settle();

        expect(open).not.toHaveBeenCalled();
        expect(errorText(element)).toContain(
            'The QuickBooks consent link is not ready yet.'
        );
    });

    it('refreshes when the consent window is closed', async () => {
        jest.useFakeTimers();
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        const element = render(CONNECTED);
        const changed = listen(element);
        await settle();
        byId(element, 'connect').click();
        await settle();

        jest.advanceTimersByTime(POLL_INTERVAL_MS * 3);
        expect(changed).not.toHaveBeenCalled();
        popup.closed = true;
        jest.advanceTimersByTime(POLL_INTERVAL_MS);
        await settle();

        expect(changed).toHaveBeenCalledTimes(1);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: false });
        expect(byId(element, 'waiting')).toBeNull();
        jest.advanceTimersByTime(POLL_INTERVAL_MS * 5);
        expect(changed).toHaveBeenCalledTimes(1);
    });

    it('stops waiting after the state has long expired', async () => {
        jest.useFakeTimers();
        jest.spyOn(window, 'open').mockReturnValue(lockerPopup());
        const element = render(CONNECTED);
        const changed = listen(element);
        await settle();
        byId(element, 'connect').click();
        await settle();

        jest.advanceTimersByTime(POLL_LIMIT_MS + POLL_INTERVAL_MS);
        await settle();

        expect(changed).toHaveBeenCalledTimes(1);
        expect(byId(element, 'waiting')).toBeNull();
    });

    it('offers a link when the browser blocks the window', async () => {
        jest.spyOn(window, 'open').mockReturnValue(null);
        const element = render(undefined);
        await settle();

        byId(element, 'connect').click();
        await settle();

        expect(errorText(element)).toContain(
            'The browser blocked the QuickBooks window.'
        );
        expect(byId(element, 'consent-link').href).toBe(AUTHORIZATION_URL);
    });

    it('disconnects after confirmation', async () => {
        const confirm = jest
            .spyOn(LightningConfirm, 'open')
            .mockResolvedValue(true);
        disconnect.mockResolvedValue(undefined);
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(90)
        });
        const changed = listen(element);
        const shown = toasts(element);

        byId(element, 'disconnect').click();
        await settle();

        expect(shown).toEqual([
            expect.objectContaining({
                title: 'QuickBooks disconnected',
                variant: 'success',
                message: expect.stringContaining(
                    `${CONNECTED.Name} (realm 9341453050298834) is disconnected`
                )
            })
        ]);

        expect(confirm.mock.calls[0][0].message).toContain(
            `Disconnect ${CONNECTED.Name} (realm 9341453050298834)?`
        );
        expect(disconnect).toHaveBeenCalledWith({
            realmId: '9341453050298834'
        });
        expect(changed).toHaveBeenCalledTimes(1);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: false });
    });

    it('does not disconnect when the confirmation is cancelled', async () => {
        jest.spyOn(LightningConfirm, 'open').mockResolvedValue(false);
        const element = render(CONNECTED);
        const changed = listen(element);

        byId(element, 'disconnect').click();
        await settle();

        expect(disconnect).not.toHaveBeenCalled();
        expect(changed).not.toHaveBeenCalled();
    });

    it('shows a failed disconnect in the error panel', async () => {
        jest.spyOn(LightningConfirm, 'open').mockResolvedValue(true);
        disconnect.mockRejectedValue(APEX_ERROR);
        const element = render(CONNECTED);
        const changed = listen(element);
        const shown = toasts(element);

        byId(element, 'disconnect').click();
        await settle();

        expect(shown).toEqual([
            expect.objectContaining({
                title: 'QuickBooks was not disconnected',
                variant: 'error',
                message: APEX_ERROR.body.message
            })
        ]);

        expect(errorText(element)).toContain(
            'The sync middleware refused the API key (HTTP 401).'
        );
        expect(changed).not.toHaveBeenCalled();
    });

    it('asks the page to reload on Refresh status', () => {
        const element = render(CONNECTED);
        const changed = listen(element);

        byId(element, 'refresh').click();

        expect(changed.mock.calls[0][0].detail).toEqual({ connected: false });
    });

    it('is accessible while waiting for QuickBooks', async () => {
        jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });
        await settle();
        byId(element, 'reconnect').click();
        await settle();

        await expect(element).toBeAccessible();
    });

    it('shows the retention section of a connected company and reloads it once saved', async () => {
        const element = render(CONNECTED);
        const changed = jest.fn();
        element.addEventListener('connectionchange', changed);
        await settle();
        const retention =
            element.shadowRoot.querySelector('c-qb-log-retention');
        expect(retention.company).toEqual(CONNECTED);
        retention.dispatchEvent(
            new CustomEvent('saved', { detail: { company: CONNECTED } })
        );
        expect(changed).toHaveBeenCalledTimes(1);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: false });
    });

    it('is accessible', async () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(5)
        });

        await expect(element).toBeAccessible();
    });
});
