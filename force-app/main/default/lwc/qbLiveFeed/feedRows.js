/**
 * The live feed's rows from sync logs: what happened to which record, and how long after the
 * QuickBooks change it reached Salesforce.
 */

const OUTCOME_CLASSES = {
    Success: 'slds-theme_success',
    Failed: 'slds-theme_error',
    Retrying: 'slds-theme_warning'
};

/**
 * "0.4 s", "12 s", "3 min", "2 h": the time from the QuickBooks change to the Salesforce write.
 * @param {number} ms milliseconds
 * @return {string|undefined} undefined when unknown
 */
export function formatDelay(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
        return undefined;
    }
    if (ms < 10000) {
        return `${(ms / 1000).toFixed(1)} s`;
    }
    if (ms < 120000) {
        return `${Math.round(ms / 1000)} s`;
    }
    if (ms < 7200000) {
        return `${Math.round(ms / 60000)} min`;
    }
    return `${Math.round(ms / 3600000)} h`;
}

/** Latency_Ms__c, or Synced_At__c minus Event_Time__c when the log has no latency. */
function delayOf(log) {
    if (typeof log.Latency_Ms__c === 'number') {
        return log.Latency_Ms__c;
    }
    const synced = Date.parse(log.Synced_At__c);
    const changed = Date.parse(log.Event_Time__c);
    return Number.isNaN(synced) || Number.isNaN(changed)
        ? undefined
        : synced - changed;
}

/**
 * One row per log, in the order given (newest first).
 * @param {object[]} logs QB_Sync_Log__c records as QBHealthController.getRecentLogs returns them
 * @param {function} labelOf the QuickBooks object's label ("Product/Service (Item)") for its API name
 * @return {object[]} rows for the feed's template
 */
export function feedRows(logs, labelOf = (name) => name) {
    return (logs || []).map((log) => {
        const delay = formatDelay(delayOf(log));
        const qbObject = labelOf(log.QB_Object__c) || 'QuickBooks record';
        const name =
            log.Record_Name__c ||
            (log.QB_Record_Id__c
                ? `${qbObject} ${log.QB_Record_Id__c}`
                : log.Name);
        const recordId = log.Salesforce_Record_Id__c;
        return {
            id: log.Id,
            name,
            qbObject,
            operation: log.Operation__c,
            context: [qbObject, log.Operation__c].filter(Boolean).join(' · '),
            status: log.Status__c || 'Unknown',
            badgeClass:
                `slds-badge ${OUTCOME_CLASSES[log.Status__c] || ''}`.trim(),
            delay: delay ? `${delay} after the QuickBooks change` : undefined,
            syncedAt: log.Synced_At__c || log.LastModifiedDate,
            message: log.Status__c === 'Failed' ? log.Message__c : undefined,
            recordId,
            recordObject: log.Salesforce_Object__c,
            recordUrl:
                recordId && log.Salesforce_Object__c
                    ? `/lightning/r/${log.Salesforce_Object__c}/${recordId}/view`
                    : undefined,
            recordLabel: `Open ${name} in Salesforce`
        };
    });
}
