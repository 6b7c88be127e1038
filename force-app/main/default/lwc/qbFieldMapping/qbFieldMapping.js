import { LightningElement, api, wire } from 'lwc';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getFieldMappings from '@salesforce/apex/QBSetupController.getFieldMappings';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import getLineMappings from '@salesforce/apex/QBSetupController.getLineMappings';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import QB_FIELD from '@salesforce/schema/QB_Field_Mapping__c.QB_Field__c';
import SALESFORCE_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Salesforce_Field__c';
import TRANSFORM_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Transform__c';
import DEFAULT_VALUE_FIELD from '@salesforce/schema/QB_Field_Mapping__c.Default_Value__c';
import { loadCatalog } from 'c/qbCatalog';
import { compatibility } from './typeCompatibility';
import {
    mappableFields,
    missingRequired,
    validationErrors
} from './fieldMappingRows';

// Values of the restricted picklist Transform__c; '' stands for none.
const TRANSFORM_OPTIONS = [
    { label: 'None', value: '' },
    { label: 'Trim', value: 'Trim' },
    { label: 'Uppercase', value: 'Uppercase' },
    { label: 'Lowercase', value: 'Lowercase' },
    { label: 'Digits Only', value: 'Digits Only' }
];

const HINT_CLASSES = {
    ok: 'slds-text-color_success',
    info: 'slds-text-color_weak',
    warning: 'slds-text-color_warning',
    error: 'slds-text-color_error'
};

let newRowCount = 0;

const rowOf = (record) => ({
    key: record.Id,
    id: record.Id,
    qbField: record[QB_FIELD.fieldApiName],
    salesforceField: record[SALESFORCE_FIELD.fieldApiName],
    transform: record[TRANSFORM_FIELD.fieldApiName] || '',
    defaultValue: record[DEFAULT_VALUE_FIELD.fieldApiName] || ''
});

const recordOf = (row) => ({
    ...(row.id ? { Id: row.id } : {}),
    [QB_FIELD.fieldApiName]: row.qbField,
    [SALESFORCE_FIELD.fieldApiName]: row.salesforceField,
    [TRANSFORM_FIELD.fieldApiName]: row.transform || null,
    [DEFAULT_VALUE_FIELD.fieldApiName]: row.defaultValue || null
});

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
        const mapping = this.activeMapping;
        return this.editingLine
            ? `Fields of the lines ${mapping.Collection_Path__c} → ${mapping.Salesforce_Object__c}`
            : `Fields of ${mapping?.QB_Object__c} → ${mapping?.Salesforce_Object__c}`;
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
        return this.lineMappings.map((line) => ({
            ...line,
            count: Number(line.Field_Mapping_Count__c || 0),
            editing: line.Id === this.editingLineId,
            editLabel: `Edit the fields of ${line.Collection_Path__c}`,
            deleteLabel: `Delete the line mapping of ${line.Collection_Path__c}`
        }));
    }

    /** Collections of the selected object no line mapping covers yet. */
    get collectionOptions() {
        const mapped = new Set(
            this.lineMappings.map((line) => line.Collection_Path__c)
        );
        return this.collections
            .filter((collection) => !mapped.has(collection.path))
            .map((collection) => ({
                label: `${collection.label} (${collection.path})`,
                value: collection.path
            }));
    }

    get hasCollectionOptions() {
        return this.collectionOptions.length > 0;
    }

    get addLineDisabled() {
        const draft = this.lineDraft;
        return (
            this.saving ||
            !draft.collectionPath ||
            !draft.salesforceObject ||
            !draft.parentField ||
            !draft.externalIdField
        );
    }

    /** A draft for the first unmapped collection, prefilled from the recommended lines. */
    suggestedLine(collectionPath = this.collectionOptions[0]?.value) {
        const recommended = (this.catalog?.getRecommended() || [])
            .find(
                (mapping) =>
                    mapping.qbObject === this.selectedMapping?.QB_Object__c
            )
            ?.lines?.find((line) => line.collectionPath === collectionPath);
        return {
            collectionPath,
            salesforceObject: recommended?.salesforceObject || '',
            parentField: recommended?.parentField || '',
            externalIdField: recommended?.externalIdField || 'QB_External_Id__c'
        };
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
        return this.qbFields.map((field) => ({
            label: `${field.label} (${field.path})`,
            value: field.path
        }));
    }

    get salesforceFieldOptions() {
        return this.targetInfo
            ? mappableFields(this.targetInfo, this.filledBySync).map(
                  (field) => ({
                      label: `${field.label} (${field.apiName})`,
                      value: field.apiName
                  })
              )
            : [];
    }

    get viewRows() {
        const qbTypes = new Map(
            this.qbFields.map((field) => [field.path, field.type])
        );
        const sfFields = this.targetInfo?.fields || {};
        return this.rows.map((row, index) => {
            const sfField = sfFields[row.salesforceField];
            const hint =
                row.qbField && sfField
                    ? compatibility(qbTypes.get(row.qbField), sfField.dataType)
                    : undefined;
            return {
                ...row,
                number: index + 1,
                hint: hint?.message,
                hintClass: `slds-text-body_small ${HINT_CLASSES[hint?.level] || ''}`,
                qbLabel: `QuickBooks field, row ${index + 1}`,
                sfLabel: `Salesforce field, row ${index + 1}`,
                transformLabel: `Transform, row ${index + 1}`,
                defaultLabel: `Default value, row ${index + 1}`,
                removeLabel: `Remove row ${index + 1}`
            };
        });
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
                mapping: {
                    Parent_Mapping__c: this.selectedId,
                    Collection_Path__c: draft.collectionPath,
                    Salesforce_Object__c: draft.salesforceObject,
                    External_Id_Field__c: draft.externalIdField,
                    Parent_Field__c: draft.parentField
                }
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
        newRowCount += 1;
        this.rows = [
            ...this.rows,
            {
                key: `new-${newRowCount}`,
                qbField: undefined,
                salesforceField: undefined,
                transform: '',
                defaultValue: ''
            }
        ];
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
