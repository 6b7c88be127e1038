import { LightningElement, api } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import testConnection from '@salesforce/apex/QBHealthController.testConnection';
import SYNC_LOG_OBJECT from '@salesforce/schema/QB_Sync_Log__c';
import { reduceErrors } from 'c/ldsUtils';
import { loadCatalogForLabels, qbObjectLabel } from 'c/qbCatalog';

// The sync log list view of every failure (force-app objects/QB_Sync_Log__c/listViews).
const FAILED_LIST_VIEW = 'Failed';

/**
 * One company's sync health: last successful sync, failures in the last 24 hours (opening the
 * Failed list view), the middleware's backlog, syncs per QuickBooks object in 24 hours, and a
 * "Test connection" button asking QuickBooks through the middleware. `health` comes from
 * QBHealthController.getHealth (qbHealthPanel refreshes it when a sync log changes).
 */
export default class QbHealthStrip extends NavigationMixin(LightningElement) {
    @api health;
    @api companyId;

    testing = false;
    testResult;
    catalog;

    async connectedCallback() {
        this.catalog = await loadCatalogForLabels();
    }

    get lastSuccessAt() {
        return this.health?.lastSuccessAt;
    }

    get failures() {
        return this.health?.failuresLast24h ?? 0;
    }

    get failuresLabel() {
        const n = this.failures;
        return `${n} ${n === 1 ? 'failure' : 'failures'}`;
    }

    get failuresClass() {
        return this.failures > 0
            ? 'slds-text-heading_medium slds-text-color_error'
            : 'slds-text-heading_medium';
    }

    get hasBacklog() {
        return typeof this.health?.backlog === 'number';
    }

    get backlogLabel() {
        const n = this.health?.backlog;
        return n === 0 ? 'None waiting' : `${n} waiting`;
    }

    get backlogError() {
        return this.health?.backlogError;
    }

    get objects() {
        return (this.health?.objects || []).map((count) => ({
            ...count,
            key: count.qbObject || 'none',
            label:
                qbObjectLabel(this.catalog, count.qbObject) || 'Unknown object',
            failedClass: count.failed > 0 ? 'slds-text-color_error' : ''
        }));
    }

    get hasObjects() {
        return this.objects.length > 0;
    }

    get testOk() {
        return this.testResult?.ok === true;
    }

    get testMessage() {
        if (!this.testResult) {
            return undefined;
        }
        if (this.testResult.ok) {
            return `QuickBooks answered: ${this.testResult.companyName || 'the company'} is reachable.`;
        }
        return this.testResult.message;
    }

    get testAlertClass() {
        return `slds-notify slds-notify_alert slds-m-top_x-small ${
            this.testOk ? 'slds-alert_success' : 'slds-alert_error'
        }`;
    }

    handleOpenFailed() {
        this[NavigationMixin.Navigate]({
            type: 'standard__objectPage',
            attributes: {
                objectApiName: SYNC_LOG_OBJECT.objectApiName,
                actionName: 'list'
            },
            state: { filterName: FAILED_LIST_VIEW }
        });
    }

    async handleTestConnection() {
        this.testing = true;
        this.testResult = undefined;
        try {
            this.testResult = await testConnection({
                companyId: this.companyId
            });
        } catch (error) {
            this.testResult = {
                ok: false,
                message: reduceErrors(error).join(' ')
            };
        } finally {
            this.testing = false;
        }
    }
}
