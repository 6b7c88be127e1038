import { LightningElement, api } from 'lwc';
import { subscribe, unsubscribe, onError } from 'lightning/empApi';
import getHealth from '@salesforce/apex/QBHealthController.getHealth';
import getRecentLogs from '@salesforce/apex/QBHealthController.getRecentLogs';
import { reduceErrors } from 'c/ldsUtils';

// Change Data Capture on the sync log (force-app platformEventChannelMembers): the platform
// sends an event for every sync log the middleware writes, so the page learns of each sync with
// no extra Salesforce call from the worker.
export const SYNC_LOG_CHANNEL = '/data/QB_Sync_Log__ChangeEvent';
// -1: only events from now on; the page loads the current state itself.
const NEW_EVENTS_ONLY = -1;
export const FEED_SIZE = 15;

/**
 * Live activity of the selected company on QB Setup: the health strip and the feed of the latest
 * syncs, refreshed when a sync log changes (lightning/empApi), without reloading the page.
 */
export default class QbHealthPanel extends LightningElement {
    health;
    logs;
    error;
    live = false;
    streamingError;
    subscription;
    // Between connectedCallback and disconnectedCallback.
    attached = false;
    _companyId;
    // A refresh in flight, and whether another was asked for meanwhile (events come in bursts).
    refreshing;
    refreshAgain = false;

    @api
    get companyId() {
        return this._companyId;
    }

    set companyId(value) {
        const changed = value !== this._companyId;
        this._companyId = value;
        if (changed && this.attached) {
            this.health = undefined;
            this.logs = undefined;
            this.refresh();
        }
    }

    connectedCallback() {
        this.attached = true;
        this.refresh();
        this.subscribeToSyncLogs();
    }

    disconnectedCallback() {
        this.attached = false;
        const subscription = this.subscription;
        this.subscription = undefined;
        this.live = false;
        if (subscription) {
            unsubscribe(subscription, () => {});
        }
    }

    async subscribeToSyncLogs() {
        onError((error) => {
            // The streaming connection failed; the data shown stays, only live updates stop
            // until empApi reconnects.
            this.live = false;
            this.streamingError = reduceErrors(error?.error || error).join(' ');
        });
        try {
            const subscription = await subscribe(
                SYNC_LOG_CHANNEL,
                NEW_EVENTS_ONLY,
                (message) => this.handleChange(message)
            );
            if (!this.attached) {
                unsubscribe(subscription, () => {});
                return;
            }
            this.subscription = subscription;
            this.live = true;
            this.streamingError = undefined;
        } catch (error) {
            this.live = false;
            this.streamingError = reduceErrors(error).join(' ');
        }
    }

    get streamingWarning() {
        return this.streamingError
            ? `Live updates are off: ${this.streamingError} Reload the page to see new syncs.`
            : undefined;
    }

    /** A sync log changed: refresh unless the change is plainly another company's. */
    handleChange(message) {
        const payload = message?.data?.payload || {};
        const company = payload.Company__c;
        if (company && this._companyId && company !== this._companyId) {
            return;
        }
        this.refresh();
    }

    async refresh() {
        if (this.refreshing) {
            this.refreshAgain = true;
            return this.refreshing;
        }
        const companyId = this._companyId;
        if (!companyId) {
            return undefined;
        }
        this.refreshing = (async () => {
            try {
                const [health, logs] = await Promise.all([
                    getHealth({ companyId }),
                    getRecentLogs({ companyId, size: FEED_SIZE })
                ]);
                if (companyId === this._companyId) {
                    this.health = health;
                    this.logs = logs;
                    this.error = undefined;
                }
            } catch (error) {
                this.error = error;
            }
        })();
        try {
            await this.refreshing;
        } finally {
            this.refreshing = undefined;
        }
        if (this.refreshAgain) {
            this.refreshAgain = false;
            return this.refresh();
        }
        return undefined;
    }
}
