import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import saveRealtimeSettings from '@salesforce/apex/QBSetupController.saveRealtimeSettings';
import getConfigNotification from '@salesforce/apex/QBConnectionController.getConfigNotification';
import notifyConfigChanged from '@salesforce/apex/QBConnectionController.notifyConfigChanged';
import { loadCatalog } from 'c/qbCatalog';
import { buildRows, changesOf, mappedNotEnabled } from './realtimeRows';

/**
 * Real-Time Configuration: every catalog object with its mapping state and an
 * enable toggle, mapped objects first; a switched toggle is an unsaved draft
 * until the docked bar's Save sends all of them in one saveRealtimeSettings call
 * (fires `dirtychange`, detail { dirty }). A warning with "Notify again" shows
 * while the middleware has not accepted the last configuration-change
 * notification.
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
    reportedDirty = false;
    _companyId;

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
        this.setDrafts({});
    }

    setDrafts(drafts) {
        this.drafts = drafts;
        // Compared with what was reported, not with the rows before: a reload after Save
        // changes the mappings under the drafts.
        if (this.dirty !== this.reportedDirty) {
            this.reportedDirty = this.dirty;
            this.dispatchEvent(
                new CustomEvent('dirtychange', {
                    detail: { dirty: this.dirty }
                })
            );
        }
    }

    get dirty() {
        return changesOf(this.rows).length > 0;
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
        const { ready, needsFields } = mappedNotEnabled(this.rows);
        const parts = [];
        if (ready.length) {
            parts.push(
                `Mapped but not enabled for real-time sync: ${ready.join(', ')}.`
            );
        }
        if (needsFields.length) {
            parts.push(
                `${needsFields.join(', ')} cannot be enabled until ${needsFields.length === 1 ? 'it has' : 'they have'} field mappings: add them in Field Mapping.`
            );
        }
        return parts.length ? parts.join(' ') : undefined;
    }

    get notificationError() {
        return this.notification?.Config_Notification_Error__c;
    }

    get notifyAgainDisabled() {
        return this.notifying || !this.notification?.Realm_Id__c;
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

    handleToggle(event) {
        const mappingId = event.target.dataset.mappingId;
        this.setDrafts({ ...this.drafts, [mappingId]: event.target.checked });
    }

    handleCancel() {
        this.setDrafts({});
    }

    handleLiveStatus(event) {
        this.notification = event.detail.notification || this.notification;
    }

    get saveBar() {
        return this.template.querySelector('c-qb-save-bar');
    }

    async handleSave() {
        const changes = changesOf(this.rows);
        this.saving = true;
        this.rowErrors = undefined;
        this.error = undefined;
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
                this.saveBar.saved();
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }
}
