import { createElement } from 'lwc';
import QbConnectionCard from 'c/qbConnectionCard';

const CONNECTED = require('./data/connectedCompany.json');
const DAY_MS = 24 * 60 * 60 * 1000;

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

const inDays = (days) => new Date(Date.now() + days * DAY_MS).toISOString();

describe('c-qb-connection-card', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
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
        const setup = element.shadowRoot.querySelector('lightning-button');
        expect(setup.disabled).toBe(true);
    });

    it('fires setup when Setup is clicked', () => {
        const element = render(CONNECTED);
        const handler = jest.fn();
        element.addEventListener('setup', handler);

        element.shadowRoot.querySelector('lightning-button').click();

        expect(handler).toHaveBeenCalledTimes(1);
    });

    it('is accessible', async () => {
        const element = render({
            ...CONNECTED,
            Refresh_Token_Expires_At__c: inDays(5)
        });

        await expect(element).toBeAccessible();
    });
});
