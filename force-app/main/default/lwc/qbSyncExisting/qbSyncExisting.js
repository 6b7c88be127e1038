import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getCompanies from '@salesforce/apex/QBSetupController.getCompanies';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import startBackfill from '@salesforce/apex/QBBackfillController.startBackfill';
import notifyConfigChanged from '@salesforce/apex/QBConnectionController.notifyConfigChanged';
import { formatRules, parseRules, ruleOptions } from './matchRules';

/**
 * "Sync existing records" of one mapped QuickBooks object: a small dialog with
 * the match rules (Account and Product2 targets: how existing records are found
 * before one is created) and an optional "changed since" date, then starts a
 * historical sync through the middleware. Fires `backfillstart` (detail: the
 * queued jobs); their progress shows in QB Setup's Historical sync panel.
 */
export default class QbSyncExisting extends LightningElement {
    @api companyId;
    @api mappingId;
    @api qbObject;
    // The object's label from the catalog ("Product/Service (Item)"), which the admin reads.
    @api qbLabel;
    @api salesforceObject;
    @api matchRules;

    open = false;
    busy = false;
    error;
    since;
    rules = [];

    get label() {
        return this.qbLabel || this.qbObject;
    }

    get buttonLabel() {
        return `Sync existing ${this.label} records`;
    }

    get dialogLabel() {
        return `Sync existing ${this.label} records to ${this.salesforceObject}`;
    }

    get options() {
        return ruleOptions(this.salesforceObject);
    }

    get hasRules() {
        return this.options.length > 0;
    }

    get startDisabled() {
        return this.busy || !this.mappingId;
    }

    handleOpen() {
        this.rules = parseRules(this.matchRules);
        this.since = undefined;
        this.error = undefined;
        this.open = true;
    }

    handleClose() {
        this.open = false;
    }

    handleRulesChange(event) {
        this.rules = event.detail.value;
    }

    handleSinceChange(event) {
        this.since = event.detail.value || undefined;
    }

    async handleStart() {
        this.busy = true;
        try {
            const realmId = await this.realmId();
            const rules = formatRules(this.rules);
            if (
                this.hasRules &&
                rules !== formatRules(parseRules(this.matchRules))
            ) {
                await saveObjectMapping({
                    mapping: { Id: this.mappingId, Match_Rules__c: rules }
                });
                // Workers keep a company's configuration for a while: without the notice the
                // job could match by the rules it had before (QBConfigChangedNotifier).
                await notifyConfigChanged({ realmId });
            }
            const jobs = await startBackfill({
                realmId,
                qbObjects: [this.qbObject],
                since: this.since || null
            });
            this.open = false;
            this.error = undefined;
            this.dispatchEvent(
                new ShowToastEvent({
                    title: `Syncing existing ${this.label} records`,
                    message:
                        'Progress shows under Historical sync on the Setup page.',
                    variant: 'success'
                })
            );
            this.dispatchEvent(
                new CustomEvent('backfillstart', { detail: { jobs } })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.busy = false;
        }
    }

    /** The middleware knows companies by realm id; the panes know the record id. */
    async realmId() {
        const companies = await getCompanies();
        const company = companies.find((c) => c.Id === this.companyId);
        if (!company) {
            throw new Error('The QuickBooks company is no longer available.');
        }
        return company.Realm_Id__c;
    }
}
