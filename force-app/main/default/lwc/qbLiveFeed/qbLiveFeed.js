import { LightningElement, api } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import { loadCatalogForLabels, qbObjectLabel } from 'c/qbCatalog';
import { feedRows } from './feedRows';

/**
 * The latest syncs of a company, newest first: record name (a link to the Salesforce record),
 * QuickBooks object, outcome, and how long after the QuickBooks change it was synced.
 * qbHealthPanel keeps `logs` current as sync logs change.
 */
export default class QbLiveFeed extends NavigationMixin(LightningElement) {
    @api logs;
    /** True while change events arrive (the panel's empApi subscription is active). */
    @api live = false;
    catalog;

    async connectedCallback() {
        this.catalog = await loadCatalogForLabels();
    }

    get rows() {
        return feedRows(this.logs, (name) => qbObjectLabel(this.catalog, name));
    }

    get hasRows() {
        return this.rows.length > 0;
    }

    handleOpenRecord(event) {
        // Navigate inside Lightning Experience instead of reloading the page on the URL.
        event.preventDefault();
        const { recordId, objectApiName } = event.currentTarget.dataset;
        this[NavigationMixin.Navigate]({
            type: 'standard__recordPage',
            attributes: { recordId, objectApiName, actionName: 'view' }
        });
    }
}
