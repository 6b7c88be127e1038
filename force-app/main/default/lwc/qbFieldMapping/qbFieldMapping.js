import { LightningElement, api, wire } from 'lwc';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getFieldMappings from '@salesforce/apex/QBSetupController.getFieldMappings';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import getLineMappings from '@salesforce/apex/QBSetupController.getLineMappings';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import { loadCatalog } from 'c/qbCatalog';
import {
    fieldOptions,
    mappableFields,
    missingRequired,
    rowViews,
    validationErrors
} from './fieldMappingRows';
import {
    TRANSFORM_OPTIONS,
    blankRow,
    recordOf,
    rowOf
} from './fieldMappingRecords';
import {
    fieldTableTitle,
    lineDraftComplete,
    lineMappingRecord,
    lineRows,
    suggestedLine,
    unmappedCollections
} from './lineMappings';

/**
 * Field Mapping: for one object mapping, rows QuickBooks field → Salesforce field
 * with a type-compatibility hint; names required Salesforce fields not mapped
 * yet and refuses to save a set without them. Saves the complete set at once.
 * For an object with collections (transaction lines), a Lines table lists its
 * line mappings and adds one; "Edit fields" of a line opens its rows in the
 * same field table, against the collection's fields and the line object.
 */
export default class QbFieldMapping extends LightningElement {
    objectMappings;
    catalog;
    rows = [];
    lineMappings = [];
    lineDraft = {};
    error;
    validation;
    saving = false;
    selectedId;
    editingLineId;
    _companyId;

    transformOptions = TRANSFORM_OPTIONS;

    @api
    get companyId() {
        return this._companyId;
    }
    set companyId(value) {
        this._companyId = value;
        this.loadObjectMappings();
    }

    /** The object mapping to open first (e.g. from Object Mapping's row action). */
    @api
    get mappingId() {
        return this.selectedId;
    }
    set mappingId(value) {
        this.selectedId = value;
        if (this.objectMappings) {
            this.loadRows();
        }
    }

    @wire(getObjectInfo, { objectApiName: '$salesforceObject' })
    objectInfo;

    async loadObjectMappings() {
        try {
            [this.objectMappings, this.catalog] = await Promise.all([
                getObjectMappings({ companyId: this._companyId }),
                loadCatalog()
            ]);
            this.error = undefined;
        } catch (error) {
            this.objectMappings = undefined;
            this.error = error;
            return;
        }
        if (!this.selectedMapping) {
            this.selectedId = this.objectMappings[0]?.Id;
        }
        await this.loadRows();
    }

    async loadRows() {
        this.validation = undefined;
        if (!this.selectedMapping) {
            this.rows = [];
            this.lineMappings = [];
            return;
        }
        try {
            const [records, lines] = await Promise.all([
                getFieldMappings({ objectMappingId: this.activeMapping.Id }),
                this.hasCollections
                    ? getLineMappings({ parentMappingId: this.selectedId })
                    : Promise.resolve([])
            ]);
            this.rows = records.map(rowOf);
            this.lineMappings = lines;
            this.lineDraft = this.suggestedLine();
            this.error = undefined;
        } catch (error) {
            this.rows = [];
            this.error = error;
        }
    }

    get selectedMapping() {
        return (this.objectMappings || []).find(
            (mapping) => mapping.Id === this.selectedId
        );
    }

    /** The mapping whose rows the field table edits: the selected one, or one of its lines. */
    get activeMapping() {
        const line = this.lineMappings.find(
            (mapping) => mapping.Id === this.editingLineId
        );
        return line || this.selectedMapping;
    }

    get editingLine() {
        return Boolean(this.activeMapping?.Parent_Mapping__c);
    }

    get fieldTableTitle() {
        return fieldTableTitle(this.activeMapping);
    }

    get collections() {
        return this.catalog
            ? this.catalog.getCollections(this.selectedMapping?.QB_Object__c)
            : [];
    }

    get hasCollections() {
        return this.collections.length > 0;
    }

    get viewLines() {
        return lineRows(this.lineMappings, this.editingLineId);
    }

    /** Collections of the selected object no line mapping covers yet. */
    get collectionOptions() {
        return unmappedCollections(this.collections, this.lineMappings);
    }

    get hasCollectionOptions() {
        return this.collectionOptions.length > 0;
    }

    get addLineDisabled() {
        return this.saving || !lineDraftComplete(this.lineDraft);
    }

    /** A draft for the first unmapped collection, prefilled from the recommended lines. */
    suggestedLine(collectionPath = this.collectionOptions[0]?.value) {
        return suggestedLine(
            this.catalog?.getRecommended(),
            this.selectedMapping?.QB_Object__c,
            collectionPath
        );
    }

    get hasObjectMappings() {
        return this.objectMappings?.length > 0;
    }

    get noObjectMappings() {
        return this.objectMappings?.length === 0;
    }

    get mappingOptions() {
        return (this.objectMappings || []).map((mapping) => ({
            label: `${mapping.QB_Object__c} → ${mapping.Salesforce_Object__c}`,
            value: mapping.Id
        }));
    }

    get salesforceObject() {
        return this.activeMapping?.Salesforce_Object__c;
    }

    get externalIdField() {
        return this.activeMapping?.External_Id_Field__c;
    }

    /** Fields the sync fills itself: the external id, and a line's parent field. */
    get filledBySync() {
        return [
            this.externalIdField,
            this.activeMapping?.Parent_Field__c
        ].filter(Boolean);
    }

    /** Describe of the selected target, once it (not a previous one) has arrived. */
    get targetInfo() {
        const info = this.objectInfo?.data;
        return info && info.apiName === this.salesforceObject
            ? info
            : undefined;
    }

    get qbFields() {
        if (!this.catalog) {
            return [];
        }
        const mapping = this.activeMapping;
        return this.editingLine
            ? this.catalog.getCollectionFields(
                  mapping.QB_Object__c,
                  mapping.Collection_Path__c
              )
            : this.catalog.getFields(mapping?.QB_Object__c);
    }

    get qbFieldOptions() {
        return fieldOptions(this.qbFields, 'path');
    }

    get salesforceFieldOptions() {
        return this.targetInfo
            ? fieldOptions(
                  mappableFields(this.targetInfo, this.filledBySync),
                  'apiName'
              )
            : [];
    }

    get viewRows() {
        return rowViews(this.rows, this.qbFields, this.targetInfo);
    }

    get missingRequiredText() {
        if (!this.targetInfo) {
            return undefined;
        }
        const missing = missingRequired(
            this.targetInfo,
            this.filledBySync,
            this.rows
        );
        return missing.length
            ? `Required Salesforce fields not mapped yet: ${missing.join(', ')}.`
            : undefined;
    }

    get objectInfoError() {
        return this.objectInfo?.error;
    }

    get saveDisabled() {
        return this.saving || !this.targetInfo;
    }

    handleMappingChange(event) {
        this.selectedId = event.detail.value;
        this.editingLineId = undefined;
        this.lineMappings = [];
        this.loadRows();
    }

    handleEditLine(event) {
        this.editingLineId = event.target.dataset.id;
        this.loadRows();
    }

    async handleDeleteLine(event) {
        const lineId = event.target.dataset.id;
        this.saving = true;
        try {
            // Its field mappings go with it (master-detail).
            await deleteObjectMapping({ mappingId: lineId });
            if (this.editingLineId === lineId) {
                this.editingLineId = undefined;
            }
            this.error = undefined;
            await this.loadRows();
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }

    handleEditHeader() {
        this.editingLineId = undefined;
        this.loadRows();
    }

    handleLineDraftChange(event) {
        const name = event.target.dataset.name;
        const value = event.detail.value;
        this.lineDraft =
            name === 'collectionPath'
                ? this.suggestedLine(value)
                : { ...this.lineDraft, [name]: value };
    }

    async handleAddLine() {
        const draft = this.lineDraft;
        this.saving = true;
        try {
            const saved = await saveObjectMapping({
                mapping: lineMappingRecord(this.selectedId, draft)
            });
            this.error = undefined;
            // Open the new line's (empty) field table.
            this.lineMappings = [...this.lineMappings, saved];
            this.editingLineId = saved.Id;
            await this.loadRows();
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Line mapping added',
                    message: `${saved.Collection_Path__c} → ${saved.Salesforce_Object__c}: map its fields below.`,
                    variant: 'success'
                })
            );
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }

    handleRowChange(event) {
        const { key, name } = event.target.dataset;
        const value = event.detail.value;
        this.rows = this.rows.map((row) => {
            return row.key === key ? { ...row, [name]: value } : row;
        });
    }

    handleAddRow() {
        this.rows = [...this.rows, blankRow()];
    }

    handleRemoveRow(event) {
        const key = event.target.dataset.key;
        this.rows = this.rows.filter((row) => row.key !== key);
    }

    async handleSave() {
        const errors = validationErrors(
            this.targetInfo,
            this.filledBySync,
            this.rows
        );
        if (errors.length) {
            this.validation = errors;
            return;
        }
        this.validation = undefined;
        this.saving = true;
        try {
            const mapping = this.activeMapping;
            const saved = await saveFieldMappings({
                objectMappingId: mapping.Id,
                mappings: this.rows.map(recordOf)
            });
            this.rows = saved.map(rowOf);
            this.error = undefined;
            const source = this.editingLine
                ? `${mapping.QB_Object__c} ${mapping.Collection_Path__c}`
                : mapping.QB_Object__c;
            this.dispatchEvent(
                new ShowToastEvent({
                    title: 'Field mappings saved',
                    message: `${saved.length} field mappings for ${source} → ${mapping.Salesforce_Object__c}.`,
                    variant: 'success'
                })
            );
            if (this.editingLine) {
                // The Lines table shows each line's field mapping count.
                this.lineMappings = await getLineMappings({
                    parentMappingId: this.selectedId
                });
            }
        } catch (error) {
            this.error = error;
        } finally {
            this.saving = false;
        }
    }
}
