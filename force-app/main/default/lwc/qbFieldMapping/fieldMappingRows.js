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
