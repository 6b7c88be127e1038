import { createElement } from 'lwc';
import LightningConfirm from 'lightning/confirm';
import QbConnectionCard, {
    POLL_INTERVAL_MS,
    POLL_LIMIT_MS
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

function postFrom(source, data) {
    const event = new MessageEvent('message', { data });
    // jsdom only accepts real windows as `source` in the constructor.
    Object.defineProperty(event, 'source', { value: source });
    window.dispatchEvent(event);
}

function listen(element) {
    const handler = jest.fn();
    element.addEventListener('connectionchange', handler);
    return handler;
}

describe('c-qb-connection-card', () => {
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
        expect(byId(element, 'reconnect')).toBeNull();
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

    it('opens the authorization URL in the window it opened on the click', async () => {
        const popup = fakePopup();
        const open = jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(undefined);

        byId(element, 'connect').click();
        await settle();

        expect(open).toHaveBeenCalledTimes(1);
        expect(open.mock.calls[0][0]).toBe('');
        expect(startConnection).toHaveBeenCalledTimes(1);
        expect(popup.location.href).toBe(AUTHORIZATION_URL);
        expect(byId(element, 'waiting')).not.toBeNull();
        expect(byId(element, 'connect').disabled).toBe(true);
    });

    it('refreshes when the consent window reports the connection', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(undefined);
        const changed = listen(element);
        byId(element, 'connect').click();
        await settle();

        postFrom(popup, { type: 'qbsync:connected' });
        await settle();

        expect(changed).toHaveBeenCalledTimes(1);
        expect(changed.mock.calls[0][0].detail).toEqual({ connected: true });
        expect(popup.close).toHaveBeenCalled();
        expect(byId(element, 'waiting')).toBeNull();
        expect(byId(element, 'connect').disabled).toBe(false);
    });

    it('ignores messages from other windows and of other types', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(undefined);
        const changed = listen(element);
        byId(element, 'connect').click();
        await settle();

        postFrom(fakePopup(), { type: 'qbsync:connected' });
        postFrom(popup, { type: 'something-else' });
        await settle();

        expect(changed).not.toHaveBeenCalled();
        expect(byId(element, 'waiting')).not.toBeNull();
    });

    it('refreshes when the consent window is closed', async () => {
        jest.useFakeTimers();
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(CONNECTED);
        const changed = listen(element);
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
        jest.spyOn(window, 'open').mockReturnValue(fakePopup());
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(CONNECTED);
        const changed = listen(element);
        byId(element, 'connect').click();
        await settle();

        jest.advanceTimersByTime(POLL_LIMIT_MS + POLL_INTERVAL_MS);
        await settle();

        expect(changed).toHaveBeenCalledTimes(1);
        expect(byId(element, 'waiting')).toBeNull();
    });

    it('shows the middleware error and closes the blank window', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockRejectedValue(APEX_ERROR);
        const element = render(undefined);

        byId(element, 'connect').click();
        await settle();

        expect(popup.close).toHaveBeenCalled();
        expect(errorText(element)).toContain(
            'The sync middleware refused the API key (HTTP 401).'
        );
        expect(byId(element, 'waiting')).toBeNull();
    });

    it('offers a link when the browser blocks the window', async () => {
        jest.spyOn(window, 'open').mockReturnValue(null);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render(undefined);

        byId(element, 'connect').click();
        await settle();

        expect(errorText(element)).toContain(
            'The browser blocked the QuickBooks window.'
        );
        expect(byId(element, 'consent-link').href).toBe(AUTHORIZATION_URL);
    });

    it('reconnects through the same consent flow', async () => {
        const popup = fakePopup();
        jest.spyOn(window, 'open').mockReturnValue(popup);
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });

        byId(element, 'reconnect').click();
        await settle();

        expect(popup.location.href).toBe(AUTHORIZATION_URL);
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

        byId(element, 'disconnect').click();
        await settle();

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

        byId(element, 'disconnect').click();
        await settle();

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
        startConnection.mockResolvedValue(AUTHORIZATION_URL);
        const element = render({
            ...CONNECTED,
            Status__c: 'Reconnect Required'
        });
        byId(element, 'reconnect').click();
        await settle();

        await expect(element).toBeAccessible();
    });

    it('is accessible', async () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(5)
        });

        await expect(element).toBeAccessible();
    });
});
