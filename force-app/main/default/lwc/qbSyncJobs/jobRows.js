// QB_Sync_Job__c.State__c values; a job in one of ACTIVE can still change (and be cancelled).
export const ACTIVE = ['Queued', 'Running'];
const BADGES = {
    Queued: '',
    Running: 'slds-theme_info',
    Done: 'slds-theme_success',
    Failed: 'slds-theme_error',
    Cancelled: 'slds-theme_warning'
};

function count(value) {
    return Number(value || 0);
}

/** Processed of total as a whole percentage (0 until the total is known). */
export function percentOf(job) {
    const total = count(job.Total__c);
    if (!total) {
        return 0;
    }
    return Math.min(100, Math.floor((count(job.Processed__c) * 100) / total));
}

/** "about 3 min left" from the job's ETA; empty when done or unknown. */
export function etaText(job, now = Date.now()) {
    if (!ACTIVE.includes(job.State__c) || !job.ETA__c) {
        return '';
    }
    const seconds = Math.max(0, (Date.parse(job.ETA__c) - now) / 1000);
    if (seconds < 60) {
        return 'less than a minute left';
    }
    const minutes = Math.round(seconds / 60);
    if (minutes < 90) {
        return `about ${minutes} min left`;
    }
    return `about ${Math.round(minutes / 60)} h left`;
}

/**
 * One row per job, with what the progress list shows; `labelOf` names the QuickBooks
 * object as the admin reads it (the catalog's label, "Product/Service (Item)").
 */
export function jobRows(jobs, now = Date.now(), labelOf = (name) => name) {
    return (jobs || []).map((job) => {
        const active = ACTIVE.includes(job.State__c);
        const total = job.Total__c == null ? '?' : count(job.Total__c);
        const percent = percentOf(job);
        const qbLabel = labelOf(job.QB_Object__c);
        return {
            ...job,
            qbLabel,
            active,
            percent,
            progressText: `${count(job.Processed__c)} of ${total}`,
            counts: [
                `${count(job.Created__c)} created`,
                `${count(job.Updated__c)} updated`,
                `${count(job.Matched__c)} matched`,
                `${count(job.Ambiguous__c)} to review`,
                `${count(job.Failed__c)} failed`
            ].join(', '),
            eta: etaText(job, now),
            badgeClass: BADGES[job.State__c] || '',
            cancelLabel: `Cancel ${qbLabel} sync`
        };
    });
}

/** True while any job can still change: the list keeps polling. */
export function anyActive(jobs) {
    return (jobs || []).some((job) => ACTIVE.includes(job.State__c));
}
