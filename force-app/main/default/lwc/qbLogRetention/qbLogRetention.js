import { LightningElement, api } from 'lwc';
import saveLogRetention from '@salesforce/apex/QBSetupController.saveLogRetention';
import ID_FIELD from '@salesforce/schema/QB_Company__c.Id';
import SUCCESS_DAYS_FIELD from '@salesforce/schema/QB_Company__c.Log_Retention_Success_Days__c';
import FAILURE_DAYS_FIELD from '@salesforce/schema/QB_Company__c.Log_Retention_Failure_Days__c';

// The fields' defaults in force-app, shown when a company has none stored.
export const DEFAULT_SUCCESS_DAYS = 14;
export const DEFAULT_FAILURE_DAYS = 90;

/** A day count as Apex's Integer parameter takes it: a whole number, or null when blank. */
function days(value) {
    if (value === '' || value === null || value === undefined) {
        return null;
    }
    return Number(value);
}

/**
 * How long one company's sync logs are kept: two day counts the admin edits and saves
 * (QBSetupController.saveLogRetention; the validation rule Log_Retention_Bounds checks them).
 * The middleware deletes older logs in bulk. Fires `saved` with the company as stored, and
 * `dirtychange` (detail { dirty }; the connection card passes it on to QB Setup, which warns
 * before edits are thrown away).
 */
export default class QbLogRetention extends LightningElement {
    error;
    saving = false;
    statusMessage = '';
    // What the admin typed, until it is saved; undefined: the company's value.
    editedSuccess;
    editedFailure;
    currentCompany;

    @api
    get company() {
        return this.currentCompany;
    }

    set company(value) {
        this.currentCompany = value;
        this.editedSuccess = undefined;
        this.editedFailure = undefined;
    }

    stored(field, fallback) {
        const value = this.company?.[field.fieldApiName];
        return value === null || value === undefined ? fallback : value;
    }

    get successDays() {
        return (
            this.editedSuccess ??
            this.stored(SUCCESS_DAYS_FIELD, DEFAULT_SUCCESS_DAYS)
        );
    }

    get failureDays() {
        return (
            this.editedFailure ??
            this.stored(FAILURE_DAYS_FIELD, DEFAULT_FAILURE_DAYS)
        );
    }

    get dirty() {
        return (
            this.editedSuccess !== undefined || this.editedFailure !== undefined
        );
    }

    get saveDisabled() {
        return this.saving || !this.dirty;
    }

    /** Applies an edit (or a save: both undefined); tells QB Setup when dirtiness changes. */
    edit(change) {
        const wasDirty = this.dirty;
        Object.assign(this, change);
        if (this.dirty !== wasDirty) {
            this.dispatchEvent(
                new CustomEvent('dirtychange', {
                    detail: { dirty: this.dirty }
                })
            );
        }
    }

    handleSuccessChange(event) {
        this.edit({ editedSuccess: event.target.value });
        this.statusMessage = '';
    }

    handleFailureChange(event) {
        this.edit({ editedFailure: event.target.value });
        this.statusMessage = '';
    }

    async handleSave() {
        const inputs = [...this.template.querySelectorAll('lightning-input')];
        if (!inputs.every((input) => input.reportValidity())) {
            return;
        }
        this.saving = true;
        this.error = undefined;
        try {
            const company = await saveLogRetention({
                companyId: this.company?.[ID_FIELD.fieldApiName],
                successDays: days(this.successDays),
                failureDays: days(this.failureDays)
            });
            this.currentCompany = company;
            this.edit({ editedSuccess: undefined, editedFailure: undefined });
            this.statusMessage = 'Retention saved.';
            this.dispatchEvent(
                new CustomEvent('saved', { detail: { company } })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }
}
