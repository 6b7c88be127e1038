import { LightningElement, api, wire } from 'lwc';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import getObjectMappings from '@salesforce/apex/QBSetupController.getObjectMappings';
import getCreateableObjects from '@salesforce/apex/QBSetupController.getCreateableObjects';
import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import deleteObjectMapping from '@salesforce/apex/QBSetupController.deleteObjectMapping';
import { loadCatalog } from 'c/qbCatalog';
import { confirmLeave, hasUnsavedChanges } from 'c/saveModel';
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
 * Fires `editfields` (detail: { mappingId }) to open a mapping's field mappings,
 * and `dirtychange` (detail: { dirty }) while the form holds unsaved edits.
 */
export default class QbObjectMapping extends LightningElement {
    mappings;
    catalog;
    error;
    createableObjects = [];
    draft;
    // The form as opened: the edits are the difference.
    openedDraft;
    // Moves focus into the form once it is rendered (after New or Edit).
    focusForm = false;
    // The mapping just created, which has no field mappings yet.
    created;
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

    renderedCallback() {
        if (this.focusForm) {
            const first = this.template.querySelector(
                '[data-id="form"] lightning-combobox:not([disabled])'
            );
            if (first) {
                this.focusForm = false;
                first.focus();
            }
        }
    }

    /** The QuickBooks object's label as the catalog gives it (e.g. "Account (Chart of Accounts)"). */
    qbLabel(name) {
        return this.catalog?.getEntity(name)?.label || name;
    }

    get dirty() {
        return (
            Boolean(this.draft) &&
            hasUnsavedChanges(this.openedDraft, this.draft)
        );
    }

    /** Sets the form's draft (undefined closes it); reports a change of dirtiness. */
    setDraft(draft, opened = false) {
        const wasDirty = this.dirty;
        this.draft = draft;
        if (opened) {
            this.openedDraft = draft;
            this.focusForm = Boolean(draft);
        }
        if (this.dirty !== wasDirty) {
            this.dispatchEvent(
                new CustomEvent('dirtychange', {
                    detail: { dirty: this.dirty }
                })
            );
        }
    }

    /** True when the form holds no edits or the admin chose to throw them away. */
    async mayDropDraft() {
        return (
            !this.dirty ||
            confirmLeave(this.template.querySelector('c-qb-confirm-dialog'))
        );
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
        return (this.mappings || []).map((mapping) => {
            const label = this.qbLabel(mapping.QB_Object__c);
            return {
                ...mapping,
                qbLabel: label,
                realtime: mapping.Realtime_Enabled__c ? 'On' : 'Off',
                fieldCount: Number(mapping.Field_Mapping_Count__c || 0),
                confirming: mapping.Id === this.confirmDeleteId,
                editLabel: `Edit ${label} mapping`,
                fieldsLabel: `Field mappings of ${label}`,
                deleteLabel: `Delete ${label} mapping`,
                // Read out of context (a screen reader's list of buttons), each names its row.
                confirmDeleteLabel: `Delete ${label}`,
                cancelDeleteLabel: `Keep ${label}`
            };
        });
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
            ? `Edit ${this.qbLabel(this.draft.qbObject)} mapping`
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
            .map((name) => ({ label: this.qbLabel(name), value: name }));
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

    async handleNew() {
        if (!(await this.mayDropDraft())) {
            return;
        }
        this.formError = undefined;
        this.created = undefined;
        this.setDraft({ deleteBehavior: 'Ignore' }, true);
    }

    async handleEdit(event) {
        const mapping = this.mappings.find(
            (candidate) => candidate.Id === event.target.dataset.id
        );
        if (!(await this.mayDropDraft())) {
            return;
        }
        this.formError = undefined;
        this.created = undefined;
        this.setDraft(
            {
                id: mapping.Id,
                qbObject: mapping.QB_Object__c,
                salesforceObject: mapping.Salesforce_Object__c,
                externalIdField: mapping.External_Id_Field__c,
                deleteBehavior: mapping.Delete_Behavior__c
            },
            true
        );
    }

    handleDraftChange(event) {
        const name = event.target.name;
        const draft = { ...this.draft, [name]: event.detail.value };
        if (name === 'salesforceObject') {
            // The old object's external-id field means nothing on the new object.
            draft.externalIdField = undefined;
        }
        this.setDraft(draft);
    }

    handleCancel() {
        this.setDraft(undefined, true);
    }

    async handleSave() {
        this.busy = true;
        try {
            const saved = await saveObjectMapping({
                mapping: mappingRecord(this._companyId, this.draft)
            });
            const label = this.qbLabel(this.draft.qbObject);
            this.toast(
                'Object mapping saved',
                `${label} → ${this.draft.salesforceObject}`,
                'success'
            );
            // A new mapping syncs nothing until its fields are mapped: offer that next.
            this.created = this.isEditing
                ? undefined
                : {
                      id: saved?.Id,
                      text: `${label} → ${this.draft.salesforceObject} is mapped. It syncs nothing until its fields are mapped.`
                  };
            this.setDraft(undefined, true);
            this.formError = undefined;
            this.template.querySelector('c-qb-save-bar').saved();
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

    handleMapFieldsNow(event) {
        const mappingId = event.target.dataset.mappingId;
        this.created = undefined;
        this.dispatchEvent(
            new CustomEvent('editfields', { detail: { mappingId } })
        );
    }

    get isFormOpen() {
        return Boolean(this.draft);
    }

    handleDismissCreated() {
        this.created = undefined;
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
                this.recommendVariant(outcome)
            );
            await this.load();
        } finally {
            this.busy = false;
        }
    }

    /** Green only when something was created; nothing to do is news, not success. */
    recommendVariant(outcome) {
        if (outcome.failed.length) {
            return 'warning';
        }
        return outcome.created.length ? 'success' : 'info';
    }

    toast(title, message, variant) {
        this.dispatchEvent(new ShowToastEvent({ title, message, variant }));
    }
}
