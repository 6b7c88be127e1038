import { LightningElement, api, wire } from 'lwc';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getCreateableObjects from '@salesforce/apex/QBSetupController.getCreateableObjects';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import { loadCatalog } from 'c/qbCatalog';
import { mappingRecord } from './objectMappingRecord';
import { createRecommended } from './recommendedMappings';

// Values of the restricted picklist Delete_Behavior__c.
const DELETE_BEHAVIOR_OPTIONS = [
    { label: 'Ignore: keep the Salesforce record', value: 'Ignore' },
    {
        label: 'Deactivate: set the field mapped from Active to false',
        value: 'Deactivate'
    },
    { label: 'Delete the Salesforce record', value: 'Delete' }
];

/**
 * Object Mapping: lists a company's QuickBooks → Salesforce object mappings and
 * adds, edits, deletes them; can create the catalog's recommended mappings.
 * Fires `editfields` (detail: { mappingId }) to open a mapping's field mappings.
 */
export default class QbObjectMapping extends LightningElement {
    mappings;
    catalog;
    error;
    createableObjects = [];
    draft;
    formError;
    confirmDeleteId;
    recommendFailures;
    busy = false;
    _companyId;

    deleteBehaviorOptions = DELETE_BEHAVIOR_OPTIONS;

    @api
    get companyId() {
        return this._companyId;
    }
    set companyId(value) {
        this._companyId = value;
        this.load();
    }

    @wire(getObjectInfo, { objectApiName: '$draftSalesforceObject' })
    objectInfo;

    connectedCallback() {
        this.loadCreateableObjects();
    }

    async loadCreateableObjects() {
        try {
            this.createableObjects = await getCreateableObjects();
        } catch (error) {
            this.error = error;
        }
    }

    /** The mappings with the catalog they are read against: both, or neither. */
    async load() {
        try {
            [this.mappings, this.catalog] = await Promise.all([
                getObjectMappings({ companyId: this._companyId }),
                loadCatalog()
            ]);
            this.error = undefined;
        } catch (error) {
            this.mappings = undefined;
            this.error = error;
        }
    }

    get rows() {
        return (this.mappings || []).map((mapping) => ({
            ...mapping,
            realtime: mapping.Realtime_Enabled__c ? 'On' : 'Off',
            fieldCount: Number(mapping.Field_Mapping_Count__c || 0),
            confirming: mapping.Id === this.confirmDeleteId,
            editLabel: `Edit ${mapping.QB_Object__c} mapping`,
            fieldsLabel: `Field mappings of ${mapping.QB_Object__c}`,
            deleteLabel: `Delete ${mapping.QB_Object__c} mapping`
        }));
    }

    /** Without the current mappings it cannot tell what already exists. */
    get recommendDisabled() {
        return this.busy || !this.mappings;
    }

    get hasMappings() {
        return this.rows.length > 0;
    }

    get draftSalesforceObject() {
        return this.draft?.salesforceObject;
    }

    get isEditing() {
        return Boolean(this.draft?.id);
    }

    get formTitle() {
        return this.isEditing
            ? `Edit ${this.draft.qbObject} mapping`
            : 'New object mapping';
    }

    get qbObjectOptions() {
        const mapped = new Set(
            (this.mappings || []).map((mapping) => mapping.QB_Object__c)
        );
        return (this.catalog?.entityNames() || [])
            .filter(
                (name) => !mapped.has(name) || name === this.draft?.qbObject
            )
            .map((name) => ({ label: name, value: name }));
    }

    get salesforceObjectOptions() {
        return this.createableObjects.map((object) => ({
            label: `${object.label} (${object.apiName})`,
            value: object.apiName
        }));
    }

    /** Only external-id fields of the chosen object: the upsert key must be one. */
    get externalIdOptions() {
        const info = this.objectInfo?.data;
        if (!info || info.apiName !== this.draftSalesforceObject) {
            return [];
        }
        return Object.values(info.fields)
            .filter((field) => field.externalId)
            .map((field) => ({
                label: `${field.label} (${field.apiName})`,
                value: field.apiName
            }));
    }

    get noExternalIdFields() {
        return (
            this.objectInfo?.data?.apiName === this.draftSalesforceObject &&
            this.externalIdOptions.length === 0
        );
    }

    get externalIdDisabled() {
        return this.externalIdOptions.length === 0;
    }

    get saveDisabled() {
        const draft = this.draft || {};
        return (
            this.busy ||
            !draft.qbObject ||
            !draft.salesforceObject ||
            !draft.externalIdField ||
            !draft.deleteBehavior
        );
    }

    handleNew() {
        this.formError = undefined;
        this.draft = { deleteBehavior: 'Ignore' };
    }

    handleEdit(event) {
        const mapping = this.mappings.find(
            (candidate) => candidate.Id === event.target.dataset.id
        );
        this.formError = undefined;
        this.draft = {
            id: mapping.Id,
            qbObject: mapping.QB_Object__c,
            salesforceObject: mapping.Salesforce_Object__c,
            externalIdField: mapping.External_Id_Field__c,
            deleteBehavior: mapping.Delete_Behavior__c
        };
    }

    handleDraftChange(event) {
        const name = event.target.name;
        const draft = { ...this.draft, [name]: event.detail.value };
        if (name === 'salesforceObject') {
            // The old object's external-id field means nothing on the new object.
            draft.externalIdField = undefined;
        }
        this.draft = draft;
    }

    handleCancel() {
        this.draft = undefined;
    }

    async handleSave() {
        this.busy = true;
        try {
            await saveObjectMapping({
                mapping: mappingRecord(this._companyId, this.draft)
            });
            this.toast(
                'Object mapping saved',
                `${this.draft.qbObject} → ${this.draft.salesforceObject}`,
                'success'
            );
            this.draft = undefined;
            this.formError = undefined;
            await this.load();
        } catch (error) {
            this.formError = error;
        } finally {
            this.busy = false;
        }
    }

    handleEditFields(event) {
        this.dispatchEvent(
            new CustomEvent('editfields', {
                detail: { mappingId: event.target.dataset.id }
            })
        );
    }

    handleDelete(event) {
        this.confirmDeleteId = event.target.dataset.id;
    }

    handleCancelDelete() {
        this.confirmDeleteId = undefined;
    }

    async handleConfirmDelete() {
        this.busy = true;
        try {
            await deleteObjectMapping({ mappingId: this.confirmDeleteId });
            this.toast('Object mapping deleted', '', 'success');
            this.confirmDeleteId = undefined;
            await this.load();
        } catch (error) {
            this.error = error;
        } finally {
            this.busy = false;
        }
    }

    async handleUseRecommended() {
        this.busy = true;
        this.recommendFailures = undefined;
        try {
            const outcome = await createRecommended(
                this.catalog.getRecommended(),
                this.mappings || [],
                this._companyId
            );
            this.recommendFailures = outcome.failed.length
                ? outcome.failed
                : undefined;
            this.toast(
                'Recommended mappings',
                [
                    `Created: ${outcome.created.join('; ') || 'nothing'}.`,
                    `Skipped (already mapped): ${outcome.skipped.join('; ') || 'nothing'}.`
                ].join(' '),
                outcome.failed.length ? 'warning' : 'success'
            );
            await this.load();
        } finally {
            this.busy = false;
        }
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
