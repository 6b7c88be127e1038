import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import { qbObjectLabel } from 'c/qbCatalog';
import { mappingSource } from 'c/qbLineMappings';
import { compatibility } from './typeCompatibility';

// The fields the sync fills itself: the external id, and on a line its parent
// field. Callers pass one name or a list of names.
const filledSet = (filledBySync) => new Set([].concat(filledBySync || []));

/**
 * Fields the admin can map on the target object: writable (createable covers
 * required create-only fields), not compound, and not a field the sync sets
 * itself (the external id; a line's parent field). Sorted by label.
 */
export function mappableFields(objectInfo, filledBySync) {
    const filled = filledSet(filledBySync);
    return Object.values(objectInfo.fields)
        .filter(
            (field) =>
                (field.updateable || field.createable) &&
                !field.compound &&
                !filled.has(field.apiName)
        )
        .sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Required Salesforce fields no row maps yet (UI API `required` on a createable
 * field; the fields the sync fills do not count), as "Label (ApiName)".
 */
export function missingRequired(objectInfo, filledBySync, rows) {
    const mapped = new Set(rows.map((row) => row.salesforceField));
    const filled = filledSet(filledBySync);
    return Object.values(objectInfo.fields)
        .filter(
            (field) =>
                field.required &&
                field.createable &&
                !filled.has(field.apiName) &&
                !mapped.has(field.apiName)
        )
        .map((field) => `${field.label} (${field.apiName})`)
        .sort();
}

/** The warning above the field table while required fields are not mapped. */
export function missingRequiredText(objectInfo, filledBySync, rows) {
    const missing = missingRequired(objectInfo, filledBySync, rows);
    return missing.length
        ? `Required Salesforce fields not mapped yet: ${missing.join(', ')}.`
        : undefined;
}

/** Problems that stop a save, one message each; empty when the set can be saved. */
export function validationErrors(objectInfo, filledBySync, rows) {
    const errors = [];
    rows.forEach((row, index) => {
        if (!row.qbField || !row.salesforceField) {
            errors.push(
                `Row ${index + 1}: choose both a QuickBooks field and a Salesforce field.`
            );
        }
    });
    const seen = new Set();
    rows.filter((row) => row.salesforceField).forEach((row) => {
        if (seen.has(row.salesforceField)) {
            errors.push(`${row.salesforceField} is mapped more than once.`);
        }
        seen.add(row.salesforceField);
    });
    const missing = missingRequired(objectInfo, filledBySync, rows);
    if (missing.length) {
        errors.push(
            `Map the required Salesforce fields first: ${missing.join(', ')}.`
        );
    }
    return errors;
}

const HINT_CLASSES = {
    ok: 'slds-text-color_success',
    info: 'slds-text-color_weak',
    // SLDS has no warning text color: a warning badge (slds-theme_warning).
    warning: 'slds-badge slds-theme_warning',
    error: 'slds-text-color_error'
};

/**
 * The field table's rows as the template shows them: numbered, with the type
 * compatibility hint of each QuickBooks field → Salesforce field pair and the
 * labels assistive technology reads for each control.
 */
export function rowViews(rows, qbFields, targetInfo) {
    const qbTypes = new Map(qbFields.map((field) => [field.path, field.type]));
    const sfFields = targetInfo?.fields || {};
    return rows.map((row, index) => {
        const sfField = sfFields[row.salesforceField];
        const hint =
            row.qbField && sfField
                ? compatibility(qbTypes.get(row.qbField), sfField.dataType)
                : undefined;
        return {
            ...row,
            number: index + 1,
            hint: hint?.message,
            // "May fail": a value QuickBooks sends may not fit; Save asks first.
            risky: hint?.level === 'warning',
            hintClass: `slds-text-body_small ${HINT_CLASSES[hint?.level] || ''}`,
            qbLabel: `QuickBooks field, row ${index + 1}`,
            sfLabel: `Salesforce field, row ${index + 1}`,
            transformLabel: `Transform, row ${index + 1}`,
            defaultLabel: `Default value, row ${index + 1}`,
            removeLabel: `Remove row ${index + 1}`
        };
    });
}

/** Combobox options "Label (name)" for fields, `key` naming the member that is the value. */
export function fieldOptions(fields, key) {
    return fields.map((field) => ({
        label: `${field.label} (${field[key]})`,
        value: field[key]
    }));
}

/**
 * "Row n: QuickBooks field → Salesforce field: hint." for each risky row that was
 * not saved as such already (a row saved before was confirmed then).
 */
export function newRiskyRows(views, savedRows) {
    const saved = new Set(
        savedRows.map((row) => `${row.qbField}→${row.salesforceField}`)
    );
    return views
        .filter(
            (row) =>
                row.risky && !saved.has(`${row.qbField}→${row.salesforceField}`)
        )
        .map(
            (row) =>
                `Row ${row.number}: ${row.qbField} → ${row.salesforceField}: ${row.hint}.`
        );
}

/** The confirmation Save asks for before storing rows that may fail (qbConfirmDialog). */
export const RISKY_DIALOG = {
    title: 'Save rows that may fail?',
    message:
        'QuickBooks values of these rows may not fit their Salesforce field; such a record then fails to sync and is listed in Sync Logs.',
    confirmLabel: 'Save anyway',
    cancelLabel: 'Review the rows'
};

/** The QuickBooks fields a mapping's rows map: the object's, or a line mapping's collection's. */
export function qbFieldsOf(catalog, mapping) {
    if (!catalog) {
        return [];
    }
    return mapping?.Parent_Mapping__c
        ? catalog.getCollectionFields(
              mapping.QB_Object__c,
              mapping.Collection_Path__c
          )
        : catalog.getFields(mapping?.QB_Object__c);
}

/** The object mapping picker's options: "QuickBooks label → Salesforce object". */
export function mappingOptions(objectMappings, catalog) {
    return (objectMappings || []).map((mapping) => ({
        label: `${qbObjectLabel(catalog, mapping.QB_Object__c)} → ${mapping.Salesforce_Object__c}`,
        value: mapping.Id
    }));
}

/** The toast after Save: how many rows, for which mapping, the QuickBooks object by label. */
export function savedToast(saved, mapping, catalog) {
    return new ShowToastEvent({
        title: 'Field mappings saved',
        message: `${saved.length} field mappings for ${mappingSource(mapping, catalog)} → ${mapping.Salesforce_Object__c}.`,
        variant: 'success'
    });
}

/** Moves focus to the first control of row `key` once it is rendered; true when it did. */
export function focusRow(template, key) {
    const control = key
        ? template.querySelector(`tr[data-row="${key}"] lightning-combobox`)
        : null;
    control?.focus();
    return Boolean(control);
}
