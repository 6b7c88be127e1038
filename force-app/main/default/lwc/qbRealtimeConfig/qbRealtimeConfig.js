import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import saveRealtimeSettings from '@salesforce/apex/QBSetupController.saveRealtimeSettings';
import { entityNames, getEntity } from 'c/qbCatalog';
import { buildRows, changesOf, mappedNotEnabled } from './realtimeRows';

/**
 * Real-Time Configuration: every catalog object with its mapping state and an
 * enable toggle; Save sends all changed toggles in one saveRealtimeSettings call.
 */
export default class QbRealtimeConfig extends LightningElement {
    mappings;
    error;
    rowErrors;
    drafts = {};
    saving = false;
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
            this.mappings = await getObjectMappings({
                companyId: this._companyId
            });
            this.error = undefined;
        } catch (error) {
            this.mappings = undefined;
            this.error = error;
        }
        this.drafts = {};
    }

    get entities() {
        return entityNames().map((name) => {
            const entity = getEntity(name);
            return { name, label: entity?.label || name };
        });
    }

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
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }
}
