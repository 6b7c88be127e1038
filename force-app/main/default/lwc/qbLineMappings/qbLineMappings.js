import { LightningElement, api } from 'lwc';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import {
    lineDraftComplete,
    lineMappingRecord,
    lineRows,
    suggestedLine,
    unmappedCollections
} from './lineMappings';

export { fieldTableTitle, mappingSource } from './lineMappings';

/**
 * The Lines table of a transaction's object mapping on Field Mapping: its line
 * mappings (one per collection, such as product lines), adding one prefilled from
 * the recommended lines, deleting one. Fires `editline` (detail { lineId }),
 * `lineadded` (detail { line }) and `linedeleted` (detail { lineId }); Field
 * Mapping owns the list and the field table.
 */
export default class QbLineMappings extends LightningElement {
    @api parentMappingId;
    @api qbObject;
    @api editingLineId;
    @api recommended;
    @api disabled = false;
    lineDraft = {};
    error;
    busy = false;
    _lines = [];
    _collections = [];

    @api
    get lines() {
        return this._lines;
    }
    set lines(value) {
        this._lines = value || [];
        this.lineDraft = this.suggestedLine();
    }

    @api
    get collections() {
        return this._collections;
    }
    set collections(value) {
        this._collections = value || [];
        this.lineDraft = this.suggestedLine();
    }

    get viewLines() {
        return lineRows(this._lines, this.editingLineId);
    }

    /** Collections of the selected object no line mapping covers yet. */
    get collectionOptions() {
        return unmappedCollections(this._collections, this._lines);
    }

    get hasCollectionOptions() {
        return this.collectionOptions.length > 0;
    }

    get actionsDisabled() {
        return this.busy || this.disabled;
    }

    get addLineDisabled() {
        return this.actionsDisabled || !lineDraftComplete(this.lineDraft);
    }

    /** A draft for the first unmapped collection, prefilled from the recommended lines. */
    suggestedLine(collectionPath = this.collectionOptions[0]?.value) {
        return suggestedLine(this.recommended, this.qbObject, collectionPath);
    }

    handleLineDraftChange(event) {
        const name = event.target.dataset.name;
        const value = event.detail.value;
        this.lineDraft =
            name === 'collectionPath'
                ? this.suggestedLine(value)
                : { ...this.lineDraft, [name]: value };
    }

    handleEditLine(event) {
        this.dispatchEvent(
            new CustomEvent('editline', {
                detail: { lineId: event.target.dataset.id }
            })
        );
    }

    async handleAddLine() {
        this.busy = true;
        try {
            const line = await saveObjectMapping({
                mapping: lineMappingRecord(this.parentMappingId, this.lineDraft)
            });
            this.error = undefined;
            this.dispatchEvent(
                new CustomEvent('lineadded', { detail: { line } })
            );
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Line mapping added',
                    message: `${line.Collection_Path__c} → ${line.Salesforce_Object__c}: map its fields below.`,
                    variant: 'success'
                })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.busy = false;
        }
    }

    async handleDeleteLine(event) {
        const lineId = event.target.dataset.id;
        this.busy = true;
        try {
            // Its field mappings go with it (master-detail).
            await deleteObjectMapping({ mappingId: lineId });
            this.error = undefined;
            this.dispatchEvent(
                new CustomEvent('linedeleted', { detail: { lineId } })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.busy = false;
        }
    }
}
