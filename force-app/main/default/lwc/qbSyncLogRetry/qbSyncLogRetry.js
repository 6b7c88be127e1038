import { LightningElement, api, wire } from 'lwc';
import { CloseActionScreenEvent } from 'lightning/actions';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import {
    getFieldValue,
    getRecord,
    notifyRecordUpdateAvailable
} from 'lightning/uiRecordApi';
import retry from '@salesforce/apex/QBSyncLogController.retry';
import NAME_FIELD from '@salesforce/schema/QB_Sync_Log__c.Name';
import STATUS_FIELD from '@salesforce/schema/QB_Sync_Log__c.Status__c';

const FAILED = 'Failed';

/**
 * Retry quick action of a Sync Log: confirms, asks QBSyncLogController.retry
 * to send the failed event back to the middleware's queue, then shows a toast
 * and refreshes the record. A log that is not Failed cannot be retried; a
 * refusal stays in the panel with the middleware's message.
 */
export default class QbSyncLogRetry extends LightningElement {
    @api recordId;
    log;
    loadError;
    error;
    busy = false;

    @wire(getRecord, {
        recordId: '$recordId',
        fields: [NAME_FIELD, STATUS_FIELD]
    })
    wiredLog({ data, error }) {
        this.log = data;
        this.loadError = error;
    }

    get name() {
        return this.log ? getFieldValue(this.log, NAME_FIELD) : '';
    }

    get status() {
        return this.log ? getFieldValue(this.log, STATUS_FIELD) : undefined;
    }

    get isFailed() {
        return this.status === FAILED;
    }

    get notFailed() {
        return Boolean(this.log) && !this.isFailed;
    }

    get retryDisabled() {
        return this.busy || !this.isFailed;
    }

    async handleRetry() {
        this.busy = true;
        this.error = undefined;
        try {
            const stored = await retry({ syncLogId: this.recordId });
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Retry requested',
                    message: `${stored.Name} is ${stored.Status__c}: the sync runs the event again.`,
                    variant: 'success'
                })
            );
            await notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
            this.dispatchEvent(new CloseActionScreenEvent());
        } catch (error) {
            this.error = error;
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Retry failed',
                    message: 'The sync log was not retried; see the details.',
                    variant: 'error'
                })
            );
        } finally {
            this.busy = false;
        }
    }

    handleCancel() {
        this.dispatchEvent(new CloseActionScreenEvent());
    }
}
