/**
 * Fields the admin can map on the target object: writable (createable covers
 * required create-only fields), not compound, and not the external id the sync
 * sets itself. Sorted by label.
 */
export function mappableFields(objectInfo, externalIdField) {
    return Object.values(objectInfo.fields)
        .filter(
            (field) =>
                (field.updateable || field.createable) &&
                !field.compound &&
                field.apiName !== externalIdField
        )
        .sort((a, b) => a.label.localeCompare(b.label));
}

/**
 * Required Salesforce fields no row maps yet (UI API `required` on a createable
 * field; the external id does not count: the sync fills it), as "Label (ApiName)".
 */
export function missingRequired(objectInfo, externalIdField, rows) {
    const mapped = new Set(rows.map((row) => row.salesforceField));
    return Object.values(objectInfo.fields)
        .filter(
            (field) =>
                field.required &&
                field.createable &&
                field.apiName !== externalIdField &&
                !mapped.has(field.apiName)
        )
        .map((field) => `${field.label} (${field.apiName})`)
        .sort();
}

/** Problems that stop a save, one message each; empty when the set can be saved. */
export function validationErrors(objectInfo, externalIdField, rows) {
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
    const missing = missingRequired(objectInfo, externalIdField, rows);
    if (missing.length) {
        errors.push(
            `Map the required Salesforce fields first: ${missing.join(', ')}.`
        );
    }
    return errors;
}
