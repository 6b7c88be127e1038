import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import listMatchReviews from '@salesforce/apex/QBBackfillController.listMatchReviews';
import resolveMatchReview from '@salesforce/apex/QBBackfillController.resolveMatchReview';
import { loadCatalogForLabels, qbObjectLabel } from 'c/qbCatalog';

const OUTCOMES = { link: 'linked', create: 'created', skip: 'skipped' };

/**
 * Matches to review: QuickBooks records a historical sync found several
 * existing Salesforce records for. Each is linked to the one the admin chooses,
 * created as a new record, or skipped; the middleware writes the record.
 */
export default class QbMatchReview extends LightningElement {
    reviews;
    error;
    busyId;
    // The candidate chosen per review, kept when the list is read again.
    chosen = {};
    catalog;
    _realmId;

    async connectedCallback() {
        this.catalog = await loadCatalogForLabels();
    }

    @api
    get realmId() {
        return this._realmId;
    }
    set realmId(value) {
        this._realmId = value;
        this.refresh();
    }

    /** Reads the open reviews again (the jobs panel calls it as jobs progress). */
    @api
    async refresh() {
        if (!this._realmId) {
            return;
        }
        try {
            this.reviews = await listMatchReviews({ realmId: this._realmId });
            this.error = undefined;
        } catch (error) {
            this.error = error;
        }
    }

    get rows() {
        return (this.reviews || []).map((review) => {
            const record = review.qbRecordName || review.qbRecordId;
            return {
                ...review,
                record,
                qbLabel: qbObjectLabel(this.catalog, review.qbObject),
                options: review.candidates.map((candidate) => ({
                    label: candidate.name,
                    value: candidate.id
                })),
                chosen: this.chosen[review.id],
                busy: this.busyId === review.id,
                linkDisabled: Boolean(this.busyId) || !this.chosen[review.id],
                chooserLabel: `Existing ${review.salesforceObject} for ${record}`,
                summary: `${review.candidates.length} ${review.salesforceObject} records match by ${review.matchedBy}`
            };
        });
    }

    get hasReviews() {
        return this.rows.length > 0;
    }

    get heading() {
        return `Matches to review (${this.rows.length})`;
    }

    handleChoose(event) {
        this.chosen = {
            ...this.chosen,
            [event.target.dataset.id]: event.detail.value
        };
    }

    async handleResolve(event) {
        const { id, action } = event.target.dataset;
        this.busyId = id;
        try {
            await resolveMatchReview({
                reviewId: id,
                action,
                recordId: action === 'link' ? this.chosen[id] : null
            });
            const review = this.reviews.find(
                (candidate) => candidate.id === id
            );
            this.dispatchEvent(
                new ShowToastEvent({
                    title: `${review.qbRecordName || review.qbRecordId} ${OUTCOMES[action]}`,
                    message: '',
                    variant: 'success'
                })
            );
            await this.refresh();
        } catch (error) {
            this.error = error;
        } finally {
            this.busyId = undefined;
        }
    }
}
