import QB_OBJECT_FIELD from '@salesforce/schema/QB_Object_Mapping__c.QB_Object__c';
import SALESFORCE_OBJECT_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Salesforce_Object__c';
import REALTIME_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Realtime_Enabled__c';
import COUNT_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Field_Mapping_Count__c';

export const STATUS = {
    ENABLED: 'Enabled',
    READY: 'Ready',
    NEEDS_FIELDS: 'Needs field mappings',
    NOT_MAPPED: 'Not mapped',
    UNSAVED: 'Unsaved'
};

export const REASON_NOT_MAPPED =
    'Map this QuickBooks object to a Salesforce object in Object Mapping first.';
// Same words as the validation rule Realtime_Requires_Field_Mappings.
export const REASON_NEEDS_FIELDS =
    'Add field mappings before enabling real-time sync.';

const BADGE_CLASSES = {
    [STATUS.ENABLED]: 'slds-theme_success',
    [STATUS.READY]: 'slds-theme_info',
    [STATUS.NEEDS_FIELDS]: 'slds-theme_warning',
    [STATUS.NOT_MAPPED]: '',
    // Not "Enabled" in green before the switch is saved.
    [STATUS.UNSAVED]: 'slds-badge_inverse'
};

function statusOf(mapping, fieldCount, enabled, changed) {
    if (changed) {
        return STATUS.UNSAVED;
    }
    if (!mapping) {
        return STATUS.NOT_MAPPED;
    }
    if (fieldCount === 0) {
        return STATUS.NEEDS_FIELDS;
    }
    return enabled ? STATUS.ENABLED : STATUS.READY;
}

function reasonOf(status, enabled) {
    if (status === STATUS.UNSAVED) {
        return `Switched ${enabled ? 'on' : 'off'}; takes effect after Save.`;
    }
    if (status === STATUS.NOT_MAPPED) {
        return REASON_NOT_MAPPED;
    }
    return status === STATUS.NEEDS_FIELDS ? REASON_NEEDS_FIELDS : undefined;
}

/**
 * One row per catalog entity joined with its object mapping: mapped objects
 * first, each group in catalog order.
 * @param {Array<{name: string, label: string}>} entities catalog entities
 * @param {Object[]} mappings QB_Object_Mapping__c records of one company
 * @param {Object<string, boolean>} drafts unsaved toggle values by mapping Id
 */
export function buildRows(entities, mappings, drafts) {
    const byQbObject = new Map(
        mappings.map((mapping) => [
            mapping[QB_OBJECT_FIELD.fieldApiName].toLowerCase(),
            mapping
        ])
    );
    const rows = entities.map((entity) => {
        const mapping = byQbObject.get(entity.name.toLowerCase());
        const fieldCount = mapping
            ? Number(mapping[COUNT_FIELD.fieldApiName] || 0)
            : 0;
        const savedEnabled = Boolean(
            mapping && mapping[REALTIME_FIELD.fieldApiName]
        );
        const enabled =
            mapping && mapping.Id in drafts ? drafts[mapping.Id] : savedEnabled;
        const changed = enabled !== savedEnabled;
        const status = statusOf(mapping, fieldCount, enabled, changed);
        return {
            qbObject: entity.name,
            label: entity.label || entity.name,
            mappingId: mapping?.Id,
            matchRules: mapping?.Match_Rules__c,
            target: mapping
                ? mapping[SALESFORCE_OBJECT_FIELD.fieldApiName]
                : STATUS.NOT_MAPPED,
            isMapped: Boolean(mapping),
            fieldCount,
            savedEnabled,
            enabled,
            changed,
            status,
            badgeClass: BADGE_CLASSES[status],
            reason: reasonOf(status, enabled),
            // An enabled object whose field mappings were removed later can still be switched off.
            disabled: !mapping || (fieldCount === 0 && !enabled),
            toggleLabel: `Real-time sync for ${entity.label || entity.name}`
        };
    });
    return [
        ...rows.filter((row) => row.isMapped),
        ...rows.filter((row) => !row.isMapped)
    ];
}

/**
 * Labels of mapped objects that will not sync in real time: `ready` can be
 * switched on now, `needsFields` first need field mappings.
 */
export function mappedNotEnabled(rows) {
    const off = rows.filter((row) => row.isMapped && !row.enabled);
    return {
        ready: off.filter((row) => row.fieldCount > 0).map((row) => row.label),
        needsFields: off
            .filter((row) => row.fieldCount === 0)
            .map((row) => row.label)
    };
}

/**
 * The saveRealtimeSettings payload: one QB_Object_Mapping__c per changed row
 * (Apex writes only the switch; QB_Object__c names the row in its result).
 */
export function changesOf(rows) {
    return rows
        .filter((row) => row.changed)
        .map((row) => ({
            Id: row.mappingId,
            [QB_OBJECT_FIELD.fieldApiName]: row.qbObject,
            [REALTIME_FIELD.fieldApiName]: row.enabled
        }));
}
