import { LightningElement, api } from 'lwc';
import NAME_FIELD from '@salesforce/schema/QB_Company__c.Name';
import REALM_ID_FIELD from '@salesforce/schema/QB_Company__c.Realm_Id__c';
import ENVIRONMENT_FIELD from '@salesforce/schema/QB_Company__c.Environment__c';
import STATUS_FIELD from '@salesforce/schema/QB_Company__c.Status__c';
import CONNECTED_AT_FIELD from '@salesforce/schema/QB_Company__c.Connected_At__c';
import REFRESH_EXPIRES_FIELD from '@salesforce/schema/QB_Company__c.Refresh_Token_Expires_At__c';
import HARD_EXPIRES_FIELD from '@salesforce/schema/QB_Company__c.Refresh_Token_Hard_Expires_At__c';
import LAST_EVENT_FIELD from '@salesforce/schema/QB_Company__c.Last_Event_At__c';
import LAST_ERROR_FIELD from '@salesforce/schema/QB_Company__c.Last_Error__c';

const DAY_MS = 24 * 60 * 60 * 1000;
// Reconnecting takes an admin and a browser, so warn well before the refresh token
// lapses (rolling 100 days, hard limit five years: research/quickbooks.md).
export const EXPIRY_WARNING_DAYS = 30;

const BADGE_CLASSES = {
    Connected: 'slds-theme_success',
    'Reconnect Required': 'slds-theme_warning',
    Disconnected: 'slds-theme_error'
};

/**
 * Shows one QuickBooks company's connection (or that none is connected) and a
 * Setup button that fires `setup` so the page can open the configuration.
 */
export default class QbConnectionCard extends LightningElement {
    @api company;

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

    /** The earlier of the rolling and the hard refresh-token expiry. */
    get effectiveExpiry() {
        const times = [this.refreshExpiresAt, this.hardExpiresAt]
            .filter(Boolean)
            .map((value) => new Date(value).getTime());
        return times.length ? Math.min(...times) : undefined;
    }

    get expiryWarning() {
        const expiry = this.effectiveExpiry;
        if (expiry === undefined || this.status !== 'Connected') {
            return undefined;
        }
        const daysLeft = Math.floor((expiry - Date.now()) / DAY_MS);
        if (daysLeft < 0) {
            return 'The QuickBooks refresh token has expired. Reconnect the company.';
        }
        if (daysLeft <= EXPIRY_WARNING_DAYS) {
            return `The QuickBooks refresh token expires in ${daysLeft} day${
                daysLeft === 1 ? '' : 's'
            }. Reconnect the company before then.`;
        }
        return undefined;
    }

    handleSetup() {
        this.dispatchEvent(new CustomEvent('setup'));
    }
}
