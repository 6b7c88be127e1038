import { qbObjectLabel } from 'c/qbCatalog';

// Line mappings (QB_Object_Mapping__c records with a Parent_Mapping__c): one per
// collection of a transaction's QuickBooks record, such as its product lines.

/** Rows of the Lines table, with the labels their buttons read out. */
export function lineRows(lineMappings, editingLineId) {
    return lineMappings.map((line) => ({
        ...line,
        count: Number(line.Field_Mapping_Count__c || 0),
        editing: line.Id === editingLineId,
        editLabel: `Edit the fields of ${line.Collection_Path__c}`,
        deleteLabel: `Delete the line mapping of ${line.Collection_Path__c}`
    }));
}

/** Combobox options for the collections no line mapping covers yet. */
export function unmappedCollections(collections, lineMappings) {
    const mapped = new Set(lineMappings.map((line) => line.Collection_Path__c));
    return collections
        .filter((collection) => !mapped.has(collection.path))
        .map((collection) => ({
            label: `${collection.label} (${collection.path})`,
            value: collection.path
        }));
}

/** Whether a new line mapping's draft names everything a line mapping needs. */
export function lineDraftComplete(draft) {
    return Boolean(
        draft.collectionPath &&
        draft.salesforceObject &&
        draft.parentField &&
        draft.externalIdField
    );
}

/**
 * A draft line mapping for one collection of `qbObject`, prefilled from the
 * catalog's recommended lines when it has some for that collection.
 */
export function suggestedLine(recommended, qbObject, collectionPath) {
    const line = (recommended || [])
        .find((mapping) => mapping.qbObject === qbObject)
        ?.lines?.find((item) => item.collectionPath === collectionPath);
    return {
        collectionPath,
        salesforceObject: line?.salesforceObject || '',
        parentField: line?.parentField || '',
        externalIdField: line?.externalIdField || 'QB_External_Id__c'
    };
}

/** The QB_Object_Mapping__c record that saves a draft under its parent mapping. */
export function lineMappingRecord(parentId, draft) {
    return {
        Parent_Mapping__c: parentId,
        Collection_Path__c: draft.collectionPath,
        Salesforce_Object__c: draft.salesforceObject,
        External_Id_Field__c: draft.externalIdField,
        Parent_Field__c: draft.parentField
    };
}

/**
 * The field table's title for a top-level mapping or one of its line mappings,
 * naming the QuickBooks object by its label as the rest of QB Setup does.
 */
export function fieldTableTitle(mapping, catalog) {
    return mapping?.Parent_Mapping__c
        ? `Fields of the lines ${mapping.Collection_Path__c} → ${mapping.Salesforce_Object__c}`
        : `Fields of ${qbObjectLabel(catalog, mapping?.QB_Object__c)} → ${mapping?.Salesforce_Object__c}`;
}

/** What a mapping's rows map from, by label: "Sales Receipt", or "Invoice Line[…]" for a line mapping. */
export function mappingSource(mapping, catalog) {
    const label = qbObjectLabel(catalog, mapping.QB_Object__c);
    return mapping.Parent_Mapping__c
        ? `${label} ${mapping.Collection_Path__c}`
        : label;
}
