import { LightningElement, api, wire } from 'lwc';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getFieldMappings from '@salesforce/apex/QBSetupController.getFieldMappings';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import getLineMappings from '@salesforce/apex/QBSetupController.getLineMappings';
import { loadCatalog } from 'c/qbCatalog';
import { fieldTableTitle } from 'c/qbLineMappings';
import { confirmLeave, hasUnsavedChanges } from 'c/saveModel';
import {
    fieldOptions,
    focusRow,
    mappableFields,
    mappingOptions,
    missingRequiredText,
    newRiskyRows,
    qbFieldsOf,
    RISKY_DIALOG,
    rowViews,
    savedToast,
    validationErrors
} from './fieldMappingRows';
import {
    TRANSFORM_OPTIONS,
    blankRow,
    inRowOrder,
    recordOf,
    rowOf
} from './fieldMappingRecords';

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
    // The rows as last loaded or saved: the edits are the difference.
    savedRows = [];
    lineMappings = [];
    error;
    validation;
    saving = false;
    selectedId;
    editingLineId;
    focusRowKey; // The row just added: its first field takes focus once rendered.
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

    renderedCallback() {
        if (focusRow(this.template, this.focusRowKey)) {
            this.focusRowKey = undefined;
        }
    }

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
            this.setRows([], true);
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
            this.setRows(records.map(rowOf), true);
            this.lineMappings = lines;
            this.error = undefined;
        } catch (error) {
            this.setRows([], true);
            this.error = error;
        }
    }

    /** Sets the rows (and, when `saved`, what they are compared with); reports a change of dirtiness. */
    setRows(rows, saved = false) {
        const wasDirty = this.dirty;
        this.rows = rows;
        if (saved) {
            this.savedRows = rows;
        }
        if (this.dirty !== wasDirty) {
            this.dispatchEvent(
                new CustomEvent('dirtychange', {
                    detail: { dirty: this.dirty }
                })
            );
        }
    }

    get dirty() {
        return hasUnsavedChanges(this.savedRows, this.rows);
    }

    /** True when nothing is unsaved or the admin chose to throw the edits away. */
    async mayLeave() {
        if (!this.dirty) {
            return true;
        }
        const leave = await confirmLeave(
            this.template.querySelector('c-qb-confirm-dialog')
        );
        if (leave) {
            this.setRows(this.savedRows);
        }
        return leave;
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
        return fieldTableTitle(this.activeMapping, this.catalog);
    }

    get collections() {
        return this.catalog
            ? this.catalog.getCollections(this.selectedMapping?.QB_Object__c)
            : [];
    }

    get hasCollections() {
        return this.collections.length > 0;
    }

    get selectedQbObject() {
        return this.selectedMapping?.QB_Object__c;
    }

    get recommended() {
        return this.catalog?.getRecommended();
    }

    get hasObjectMappings() {
        return this.objectMappings?.length > 0;
    }

    get noObjectMappings() {
        return this.objectMappings?.length === 0;
    }

    get mappingOptions() {
        return mappingOptions(this.objectMappings, this.catalog);
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
        return qbFieldsOf(this.catalog, this.activeMapping);
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
        // After a refused Save the validation panel names them: not twice.
        if (!this.targetInfo || this.validation) {
            return undefined;
        }
        return missingRequiredText(
            this.targetInfo,
            this.filledBySync,
            this.rows
        );
    }

    get objectInfoError() {
        return this.objectInfo?.error;
    }

    get saveDisabled() {
        return this.saving || !this.targetInfo;
    }

    async handleMappingChange(event) {
        const mappingId = event.detail.value;
        const picker = event.target;
        if (!(await this.mayLeave())) {
            // The picker shows the chosen mapping: show the one being edited again.
            picker.value = this.selectedId;
            return;
        }
        this.selectedId = mappingId;
        this.editingLineId = undefined;
        this.lineMappings = [];
        this.loadRows();
    }

    async handleEditLine(event) {
        if (await this.mayLeave()) {
            this.editingLineId = event.detail.lineId;
            this.loadRows();
        }
    }

    async handleEditHeader() {
        if (await this.mayLeave()) {
            this.editingLineId = undefined;
            this.loadRows();
        }
    }

    /** A new line opens its (empty) field table, unless the admin stays with unsaved rows. */
    async handleLineAdded(event) {
        const line = event.detail.line;
        this.lineMappings = [...this.lineMappings, line];
        if (await this.mayLeave()) {
            this.editingLineId = line.Id;
            await this.loadRows();
        }
    }

    async handleLineDeleted(event) {
        const lineId = event.detail.lineId;
        if (this.editingLineId === lineId) {
            // Its field mappings went with it: nothing left to save.
            this.editingLineId = undefined;
            this.setRows(this.rows, true);
            await this.loadRows();
        } else {
            this.lineMappings = this.lineMappings.filter(
                (line) => line.Id !== lineId
            );
        }
    }

    handleRowChange(event) {
        const { key, name } = event.target.dataset;
        const value = event.detail.value;
        this.setRows(
            this.rows.map((row) => {
                return row.key === key ? { ...row, [name]: value } : row;
            })
        );
    }

    confirmRisky(details) {
        return this.template
            .querySelector('c-qb-confirm-dialog')
            .open({ ...RISKY_DIALOG, details });
    }

    handleCancel() {
        this.validation = undefined;
        this.setRows(this.savedRows);
    }

    handleAddRow() {
        const row = blankRow();
        this.focusRowKey = row.key;
        this.setRows([...this.rows, row]);
    }

    handleRemoveRow(event) {
        const key = event.target.dataset.key;
        this.setRows(this.rows.filter((row) => row.key !== key));
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
        const risky = newRiskyRows(this.viewRows, this.savedRows);
        if (risky.length && !(await this.confirmRisky(risky))) {
            return;
        }
        this.saving = true;
        try {
            const mapping = this.activeMapping;
            const saved = await saveFieldMappings({
                objectMappingId: mapping.Id,
                mappings: this.rows.map(recordOf)
            });
            this.setRows(inRowOrder(saved, this.rows).map(rowOf), true);
            this.template.querySelector('c-qb-save-bar').saved();
            this.error = undefined;
            this.dispatchEvent(savedToast(saved, mapping, this.catalog));
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
