import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import saveRealtimeSettings from '@salesforce/apex/QBSetupController.saveRealtimeSettings';
import getConfigNotification from '@salesforce/apex/QBConnectionController.getConfigNotification';
import notifyConfigChanged from '@salesforce/apex/QBConnectionController.notifyConfigChanged';
import { loadCatalog } from 'c/qbCatalog';
import { buildRows, changesOf, mappedNotEnabled } from './realtimeRows';

// After a save, the middleware is notified by a queued Apex job (QBConfigChangedNotifier):
// its outcome is read back every 2 s for up to 30 s.
export const NOTIFICATION_POLL_MS = 2000;
export const NOTIFICATION_POLL_TRIES = 15;

/**
 * Real-Time Configuration: every catalog object with its mapping state and an
 * enable toggle; Save sends all changed toggles in one saveRealtimeSettings call.
 * A warning with "Notify again" shows while the middleware has not accepted the
 * last configuration-change notification.
 */
export default class QbRealtimeConfig extends LightningElement {
    mappings;
    catalog;
    error;
    rowErrors;
    drafts = {};
    saving = false;
    notification;
    notifying = false;
    pollTimer;
    _companyId;

    disconnectedCallback() {
        clearTimeout(this.pollTimer);
    }

    @api
    get companyId() {
        return this._companyId;
    }
    set companyId(value) {
        this._companyId = value;
        this.load();
    }

    async load() {
        try {
            [this.mappings, this.notification, this.catalog] =
                await Promise.all([
                    getObjectMappings({ companyId: this._companyId }),
                    getConfigNotification({ companyId: this._companyId }),
                    loadCatalog()
                ]);
            this.error = undefined;
        } catch (error) {
            this.mappings = undefined;
            this.error = error;
        }
        this.drafts = {};
    }

    get entities() {
        return this.catalog.entityNames().map((name) => {
            const entity = this.catalog.getEntity(name);
            return { name, label: entity?.label || name };
        });
    }

    /** Loaded together: rows exist once both mappings and catalog are here. */
    get rows() {
        return this.mappings
            ? buildRows(this.entities, this.mappings, this.drafts)
            : [];
    }

    get notEnabledBanner() {
        const names = mappedNotEnabled(this.rows);
        return names.length
            ? `Mapped but not enabled for real-time sync: ${names.join(', ')}.`
            : undefined;
    }

    get notificationError() {
        return this.notification?.Config_Notification_Error__c;
    }

    get notifyAgainDisabled() {
        return this.notifying || !this.notification?.Realm_Id__c;
    }

    /** Reads the notification outcome until it changes from `before`, a few times at most. */
    watchNotification(before, triesLeft = NOTIFICATION_POLL_TRIES) {
        clearTimeout(this.pollTimer);
        if (triesLeft <= 0) {
            return;
        }
        // The queued job runs seconds after the save; there is no event to wait for.
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.pollTimer = setTimeout(async () => {
            try {
                this.notification = await getConfigNotification({
                    companyId: this._companyId
                });
            } catch (error) {
                this.error = error;
                return;
            }
            const after = this.notification;
            const changed =
                after?.Config_Notified_At__c !==
                    before?.Config_Notified_At__c ||
                after?.Config_Notification_Error__c !==
                    before?.Config_Notification_Error__c;
            if (!changed) {
                this.watchNotification(before, triesLeft - 1);
            }
        }, NOTIFICATION_POLL_MS);
    }

    async handleNotifyAgain() {
        this.notifying = true;
        try {
            this.notification = await notifyConfigChanged({
                realmId: this.notification.Realm_Id__c
            });
            if (!this.notificationError) {
                this.dispatchEvent(
                    new ShowToastEvent({
                        title: 'Sync middleware notified',
                        message: 'The workers now use the saved configuration.',
                        variant: 'success'
                    })
                );
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.notifying = false;
        }
    }

    get saveDisabled() {
        return this.saving || changesOf(this.rows).length === 0;
    }

    handleToggle(event) {
        const mappingId = event.target.dataset.mappingId;
        this.drafts = { ...this.drafts, [mappingId]: event.target.checked };
    }

    async handleSave() {
        const changes = changesOf(this.rows);
        this.saving = true;
        this.rowErrors = undefined;
        this.error = undefined;
        const before = this.notification;
        try {
            const results = await saveRealtimeSettings({ changes });
            const failed = results.filter((result) => !result.success);
            if (failed.length) {
                this.rowErrors = failed.map(
                    (result) => `${result.qbObject}: ${result.message}`
                );
            }
            const saved = results.length - failed.length;
            if (saved > 0) {
                this.dispatchEvent(
                    new ShowToastEvent({
                        title: 'Real-time configuration saved',
                        message: `${saved} object${saved === 1 ? '' : 's'} updated.`,
                        variant: 'success'
                    })
                );
            }
            await this.load();
            if (saved > 0) {
                this.watchNotification(before);
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }
}
