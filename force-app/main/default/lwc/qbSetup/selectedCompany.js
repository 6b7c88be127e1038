// The company the QB Setup tab shows, kept across reloads of the browser tab in sessionStorage.
// Chosen over the URL's page state (CurrentPageReference + a Navigate with replace on every
// change): no navigation per selection, and nothing that breaks when the tab is opened from the
// App Launcher without state. Under Lightning Web Security sessionStorage works and is
// partitioned by namespace, so no other namespace's code reads or overwrites the key
// (https://developer.salesforce.com/docs/platform/lwc/guide/security-lwsec-local-storage.html).
// Only a record id is kept, never a secret; a storage that refuses (private mode, quota) only
// means the first company is shown after a reload.
const KEY = 'qbSetup.selectedCompanyId';

/** The company id kept for this browser tab, or undefined. */
export function rememberedCompanyId() {
    try {
        return window.sessionStorage.getItem(KEY) || undefined;
        // eslint-disable-next-line no-unused-vars
    } catch (error) {
        return undefined;
    }
}

/** Keeps `companyId` for this browser tab (forgets it when there is none). */
export function rememberCompanyId(companyId) {
    try {
        if (companyId) {
            window.sessionStorage.setItem(KEY, companyId);
        } else {
            window.sessionStorage.removeItem(KEY);
        }
        // eslint-disable-next-line no-unused-vars
    } catch (error) {
        // Not kept: after a reload the tab shows its first company.
    }
}
