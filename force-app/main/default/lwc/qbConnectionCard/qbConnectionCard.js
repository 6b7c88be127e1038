import { LightningElement, api } from 'lwc';
import LightningConfirm from 'lightning/confirm';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import startConnection from '@salesforce/apex/QBConnectionController.startConnection';
import disconnect from '@salesforce/apex/QBConnectionController.disconnect';
import NAME_FIELD from '@salesforce/schema/QB_Company__c.Name';
import REALM_ID_FIELD from '@salesforce/schema/QB_Company__c.Realm_Id__c';
import ENVIRONMENT_FIELD from '@salesforce/schema/QB_Company__c.Environment__c';
import STATUS_FIELD from '@salesforce/schema/QB_Company__c.Status__c';
import CONNECTED_AT_FIELD from '@salesforce/schema/QB_Company__c.Connected_At__c';
import REFRESH_EXPIRES_FIELD from '@salesforce/schema/QB_Company__c.Refresh_Token_Expires_At__c';
import HARD_EXPIRES_FIELD from '@salesforce/schema/QB_Company__c.Refresh_Token_Hard_Expires_At__c';
import RENEWED_AT_FIELD from '@salesforce/schema/QB_Company__c.Renewed_At__c';
import LAST_EVENT_FIELD from '@salesforce/schema/QB_Company__c.Last_Event_At__c';
import LAST_ERROR_FIELD from '@salesforce/schema/QB_Company__c.Last_Error__c';
import { reduceErrors } from 'c/ldsUtils';
import { expiryWarning } from './tokenExpiry';
import { closeQuietly, isClosed } from './popupWindow';
import {
    CONNECT,
    RECONNECT,
    consentOutcome,
    disconnectFailedToast,
    disconnectedToast,
    isConsentMessage
} from './connectionOutcomes';

export { CONNECTED_MESSAGE, FAILED_MESSAGE } from './connectionOutcomes';
const POPUP_NAME = 'qbsyncConnect';
const POPUP_FEATURES = 'popup,width=720,height=760';
// A closed consent window is noticed within a second; polling stops after the 10-minute
// life of the middleware's state, with a margin.
export const POLL_INTERVAL_MS = 1000;
export const POLL_LIMIT_MS = 15 * 60 * 1000;
// The consent links are fetched when the card loads, so the click itself can open the window
// (browsers block a window opened after an await). A link works for 10 minutes: renew at 8.
export const RENEW_INTERVAL_MS = 8 * 60 * 1000;
const NOT_READY =
    'The QuickBooks consent link is not ready yet. Try again in a moment, or click Refresh status.';
const NEEDS_RECONNECT = ['Reconnect Required', 'Disconnected'];

const BADGE_CLASSES = {
    Connected: 'slds-theme_success',
    'Reconnect Required': 'slds-theme_warning',
    Disconnected: 'slds-theme_error'
};

/**
 * Shows one QuickBooks company's connection (or that none is connected) with
 * Connect, Reconnect and Disconnect, and a Setup button that fires `setup` so
 * the page can open the configuration. Connect and Reconnect open Intuit's
 * consent page in a new window; when it reports success or closes, the card
 * fires `connectionchange` so the page reloads the companies.
 */
export default class QbConnectionCard extends LightningElement {
    error;
    blockedUrl;
    busy = false;
    popup;
    pollTimer;
    pollStartedAt;
    // The origin the running connect's outcome may come from (the middleware's callback page).
    callbackOrigin;
    // CONNECT or RECONNECT: which toast the running consent's outcome shows.
    consentAction;
    // AuthorizationStart (QBMiddlewareClient) of a new connection and of a Reconnect of the
    // shown company, fetched ahead of the click.
    connectStart;
    reconnectStart;
    renewTimer;
    // Why the last fetch of a link failed (the middleware's message).
    prepareError;
    loaded = false;
    currentCompany;
    messageListener = (event) => this.handleMessage(event);

    @api
    get company() {
        return this.currentCompany;
    }

    set company(value) {
        const realmChanged =
            value?.[REALM_ID_FIELD.fieldApiName] !== this.realmId;
        this.currentCompany = value;
        if (realmChanged) {
            this.reconnectStart = undefined;
        }
        if (this.loaded) {
            this.prepare();
        }
    }

    connectedCallback() {
        this.loaded = true;
        this.prepare();
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.renewTimer = setInterval(() => this.renew(), RENEW_INTERVAL_MS);
    }

    disconnectedCallback() {
        this.loaded = false;
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        this.stopWatching();
    }

    /** Fetch the consent links that are missing (each is used once); a Reconnect link only
     * while Reconnect is offered. */
    prepare() {
        if (!this.connectStart) {
            this.fetchStart(null).then((start) => {
                this.connectStart = start;
            });
        }
        const realmId = this.realmId;
        if (realmId && this.showReconnect && !this.reconnectStart) {
            this.fetchStart(realmId).then((start) => {
                if (this.realmId === realmId) {
                    this.reconnectStart = start;
                }
            });
        }
    }

    /** Replace both links before their 10 minutes end. */
    renew() {
        this.connectStart = undefined;
        this.reconnectStart = undefined;
        this.prepare();
    }

    async fetchStart(realmId) {
        try {
            const start = await startConnection({ realmId });
            return start?.authorizationUrl ? start : undefined;
        } catch (error) {
            // Shown when a click finds no link: a card only looked at stays quiet.
            this.prepareError = error;
            return undefined;
        }
    }

    get isConnected() {
        return Boolean(this.company);
    }

    get setupDisabled() {
        return !this.company;
    }

    fieldValue(field) {
        return this.company ? this.company[field.fieldApiName] : undefined;
    }

    get name() {
        return this.fieldValue(NAME_FIELD);
    }

    get realmId() {
        return this.fieldValue(REALM_ID_FIELD);
    }

    get environment() {
        return this.fieldValue(ENVIRONMENT_FIELD);
    }

    get connectedAt() {
        return this.fieldValue(CONNECTED_AT_FIELD);
    }

    get refreshExpiresAt() {
        return this.fieldValue(REFRESH_EXPIRES_FIELD);
    }

    get hardExpiresAt() {
        return this.fieldValue(HARD_EXPIRES_FIELD);
    }

    get renewedAt() {
        return this.fieldValue(RENEWED_AT_FIELD);
    }

    /** A disconnected company has no tokens, so no token dates (the middleware clears them;
     * the card does not show stale ones either way). */
    get showTokenDates() {
        return this.status !== 'Disconnected';
    }

    get lastEventAt() {
        return this.fieldValue(LAST_EVENT_FIELD);
    }

    get status() {
        return this.fieldValue(STATUS_FIELD) || 'Not connected';
    }

    get badgeClass() {
        return BADGE_CLASSES[this.status] || '';
    }

    get lastError() {
        return this.status === 'Connected'
            ? undefined
            : this.fieldValue(LAST_ERROR_FIELD);
    }

    get expiryWarning() {
        return this.status === 'Connected'
            ? expiryWarning(
                  this.refreshExpiresAt,
                  this.hardExpiresAt,
                  Date.now()
              )
            : undefined;
    }

    get waiting() {
        return Boolean(this.popup);
    }

    get actionsDisabled() {
        return this.busy || this.waiting;
    }

    get connectLabel() {
        return this.company
            ? 'Connect another company'
            : 'Connect to QuickBooks';
    }

    get connectVariant() {
        return this.company ? 'neutral' : 'brand';
    }

    /** Always offered for the shown company: re-authorizing it must not need "Connect another
     * company". It is the main action when a new consent is needed or due soon. */
    get showReconnect() {
        return Boolean(this.company);
    }

    get reconnectVariant() {
        return NEEDS_RECONNECT.includes(this.status) || this.expiryWarning
            ? 'brand'
            : 'neutral';
    }

    get showDisconnect() {
        return Boolean(this.company) && this.status !== 'Disconnected';
    }

    /** The retention section saved the company: the page reloads it, keeping the selection. */
    handleRetentionSaved() {
        this.notifyChange(false);
    }

    /** Unsaved retention days: QB Setup warns before they are thrown away. */
    handleRetentionDirty(event) {
        const detail = { dirty: event.detail.dirty };
        this.dispatchEvent(new CustomEvent('dirtychange', { detail }));
    }

    handleSetup() {
        this.dispatchEvent(new CustomEvent('setup'));
    }

    handleRefresh() {
        this.prepare();
        this.notifyChange(false);
    }

    handleConnect() {
        this.openConsent(this.connectStart, CONNECT, () => {
            this.connectStart = undefined;
        });
    }

    handleReconnect() {
        this.openConsent(this.reconnectStart, RECONNECT, () => {
            this.reconnectStart = undefined;
        });
    }

    /**
     * Opens the consent page in the click's own `window.open(url)`: nothing is awaited before it
     * (a window opened later is blocked) and nothing is assigned to the window afterwards (under
     * Locker the returned window is restricted). `spend` forgets the link: a state is used once.
     */
    openConsent(start, action, spend) {
        this.blockedUrl = undefined;
        if (!start) {
            this.error = this.prepareError || NOT_READY;
            this.prepareError = undefined;
            this.prepare();
            return;
        }
        this.error = undefined;
        const popup = window.open(
            start.authorizationUrl,
            POPUP_NAME,
            POPUP_FEATURES
        );
        spend();
        this.prepare();
        if (!popup) {
            this.blockedUrl = start.authorizationUrl;
            this.error =
                'The browser blocked the QuickBooks window. Allow pop-ups for Salesforce, or open the consent page with the link below, then click Refresh status.';
            return;
        }
        this.consentAction = action;
        this.watch(popup, start.callbackOrigin);
    }

    async handleDisconnect() {
        const confirmed = await LightningConfirm.open({
            label: 'Disconnect QuickBooks company',
            message: `Disconnect ${this.name} (realm ${this.realmId})? Its QuickBooks tokens are revoked and its changes stop syncing until it is connected again. Mappings are kept.`,
            theme: 'warning',
            variant: 'header'
        });
        if (!confirmed) {
            return;
        }
        this.error = undefined;
        this.busy = true;
        const { name, realmId } = this;
        try {
            await disconnect({ realmId });
            this.toast(disconnectedToast(name, realmId));
            this.notifyChange(false);
        } catch (error) {
            this.error = error;
            this.toast(disconnectFailedToast(reduceErrors(error).join(' ')));
        } finally {
            this.busy = false;
        }
    }

    watch(popup, callbackOrigin) {
        this.popup = popup;
        this.callbackOrigin = callbackOrigin;
        this.pollStartedAt = Date.now();
        window.addEventListener('message', this.messageListener);
        // Polling is the only way to learn that the user closed the window.
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.pollTimer = setInterval(() => this.checkPopup(), POLL_INTERVAL_MS);
    }

    checkPopup() {
        const expired = Date.now() - this.pollStartedAt > POLL_LIMIT_MS;
        if (isClosed(this.popup) || expired) {
            this.stopWatching();
            this.notifyChange(false);
        }
    }

    /**
     * The callback page's report. Trusted by its origin (the middleware's) and its type: under
     * Lightning Web Security `event.source` is a substitute object, never the window we opened.
     */
    handleMessage(event) {
        if (
            !this.callbackOrigin ||
            event.origin !== this.callbackOrigin ||
            !isConsentMessage(event.data)
        ) {
            return;
        }
        const popup = this.popup;
        const outcome = consentOutcome(this.consentAction, event.data);
        this.stopWatching();
        closeQuietly(popup);
        this.error = outcome.error;
        this.toast(outcome.toast);
        this.notifyChange(outcome.connected);
    }

    stopWatching() {
        clearInterval(this.pollTimer);
        this.pollTimer = undefined;
        this.popup = undefined;
        this.callbackOrigin = undefined;
        this.consentAction = undefined;
        window.removeEventListener('message', this.messageListener);
    }

    toast(config) {
        this.dispatchEvent(new ShowToastEvent(config));
    }

    /** `connected`: a company was just connected, so the page can select it. */
    notifyChange(connected) {
        this.dispatchEvent(
            new CustomEvent('connectionchange', { detail: { connected } })
        );
    }
}
