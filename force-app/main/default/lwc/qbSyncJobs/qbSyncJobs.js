import { LightningElement, api } from 'lwc';
import listJobs from '@salesforce/apex/QBBackfillController.listJobs';
import cancelBackfill from '@salesforce/apex/QBBackfillController.cancelBackfill';
import { loadCatalogForLabels, qbObjectLabel } from 'c/qbCatalog';
import { anyActive, jobRows } from './jobRows';

// While a job is queued or running the list reads the jobs again every few seconds: the
// middleware updates QB_Sync_Job__c after each page it writes.
export const POLL_MS = 3000;

/**
 * Historical sync in QB Setup: the company's sync jobs (state, a progress bar of
 * processed/total, counts, ETA, Cancel while queued or running) and, below,
 * the matches waiting for a review.
 */
export default class QbSyncJobs extends LightningElement {
    jobs;
    catalog;
    error;
    busy = false;
    _realmId;
    _timer;

    @api
    get realmId() {
        return this._realmId;
    }
    set realmId(value) {
        this._realmId = value;
        this.refresh();
    }

    async connectedCallback() {
        this.catalog = await loadCatalogForLabels();
    }

    disconnectedCallback() {
        this.stopPolling();
    }

    /** Reads the jobs now (after a start, or as the poll's tick). */
    @api
    async refresh() {
        this.stopPolling();
        if (!this._realmId) {
            return;
        }
        try {
            this.jobs = await listJobs({ realmId: this._realmId });
            this.error = undefined;
        } catch (error) {
            this.error = error;
        }
        this.refs?.reviews?.refresh();
        if (anyActive(this.jobs)) {
            // eslint-disable-next-line @lwc/lwc/no-async-operation
            this._timer = setTimeout(() => this.refresh(), POLL_MS);
        }
    }

    stopPolling() {
        clearTimeout(this._timer);
        this._timer = undefined;
    }

    get rows() {
        return jobRows(this.jobs, Date.now(), (name) =>
            qbObjectLabel(this.catalog, name)
        );
    }

    get hasJobs() {
        return this.rows.length > 0;
    }

    async handleCancel(event) {
        this.busy = true;
        try {
            await cancelBackfill({ jobKey: event.target.dataset.key });
            await this.refresh();
        } catch (error) {
            this.error = error;
        } finally {
            this.busy = false;
        }
    }
}
