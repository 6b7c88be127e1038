import { LightningElement } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import getCompanies from '@salesforce/apex/QBSetupController.getCompanies';
import SYNC_LOG_OBJECT from '@salesforce/schema/QB_Sync_Log__c';
import { confirmLeave, guardUnload } from 'c/saveModel';
import { rememberCompanyId, rememberedCompanyId } from './selectedCompany';

const PANES = {
    SETUP: 'setup',
    OBJECT_MAPPING: 'object_mapping',
    FIELD_MAPPING: 'field_mapping',
    REALTIME: 'realtime'
};
const SYNC_LOGS = 'sync_logs';

/**
 * The QB Setup tab: connection card, left navigation (Setup; Configuration →
 * Object Mapping, Field Mapping, Real-Time Configuration; Sync Logs) and the
 * selected pane, for the chosen QuickBooks company.
 */
export default class QbSetup extends NavigationMixin(LightningElement) {
    companies;
    error;
    selectedCompanyId;
    selectedPane = PANES.SETUP;
    // What the navigation highlights (setting it makes the navigation fire `select`).
    navigationItem = PANES.SETUP;
    fieldMappingId;
    // The shown pane has edits not saved yet (its `dirtychange` event).
    unsaved = false;
    removeUnloadGuard;

    connectedCallback() {
        // The company chosen before a reload of the browser tab, while it still exists.
        this.selectedCompanyId = rememberedCompanyId();
        this.loadCompanies(false);
        this.removeUnloadGuard = guardUnload(() => this.unsaved);
    }

    disconnectedCallback() {
        this.removeUnloadGuard?.();
    }

    handleDirtyChange(event) {
        this.unsaved = event.detail.dirty;
    }

    /** True when nothing is unsaved or the admin chose to throw the edits away. */
    async mayLeave() {
        if (!this.unsaved) {
            return true;
        }
        const leave = await confirmLeave(
            this.template.querySelector('c-qb-confirm-dialog')
        );
        if (leave) {
            this.unsaved = false;
        }
        return leave;
    }

    /**
     * The navigation asks before it highlights another item: with unsaved edits it keeps the
     * current one until the admin chooses to leave, then selects the clicked one.
     */
    async handleBeforeSelect(event) {
        const name = event.detail.name;
        if (!this.unsaved || name === this.selectedPane) {
            return;
        }
        event.preventDefault();
        if (await this.mayLeave()) {
            this.navigationItem = name;
        }
    }

    /** Shows `pane`, unless the admin stays with unsaved edits. */
    async openPane(pane) {
        if (pane !== this.selectedPane && !(await this.mayLeave())) {
            return false;
        }
        this.selectedPane = pane;
        this.navigationItem = pane;
        return true;
    }

    /**
     * Loads the companies and keeps the selected one, unless `selectNewest` (a company was
     * just connected: it comes first, the most recently connected).
     */
    async loadCompanies(selectNewest = true) {
        try {
            this.companies = await getCompanies();
            this.error = undefined;
            const kept = this.companies.some(
                (company) => company.Id === this.selectedCompanyId
            );
            if (selectNewest || !kept) {
                this.selectedCompanyId = this.companies[0]?.Id;
                rememberCompanyId(this.selectedCompanyId);
            }
        } catch (error) {
            this.companies = undefined;
            this.error = error;
        }
    }

    get loading() {
        return !this.companies && !this.error;
    }

    get selectedCompany() {
        return (this.companies || []).find(
            (company) => company.Id === this.selectedCompanyId
        );
    }

    get hasSeveralCompanies() {
        return this.companies?.length > 1;
    }

    get companyOptions() {
        return (this.companies || []).map((company) => ({
            label: `${company.Name} (${company.Realm_Id__c})`,
            value: company.Id
        }));
    }

    get showSetup() {
        return this.selectedPane === PANES.SETUP;
    }

    /** Configuration panes need a company: their records hang off it. */
    get showConnectFirst() {
        return !this.showSetup && !this.selectedCompanyId;
    }

    get showObjectMapping() {
        return this.isConfigPane(PANES.OBJECT_MAPPING);
    }

    get showFieldMapping() {
        return this.isConfigPane(PANES.FIELD_MAPPING);
    }

    get showRealtime() {
        return this.isConfigPane(PANES.REALTIME);
    }

    isConfigPane(pane) {
        return this.selectedPane === pane && Boolean(this.selectedCompanyId);
    }

    async handleCompanyChange(event) {
        const companyId = event.detail.value;
        const picker = event.target;
        if (!(await this.mayLeave())) {
            // The combobox shows the chosen company: show the current one again.
            picker.value = this.selectedCompanyId;
            return;
        }
        this.selectedCompanyId = companyId;
        rememberCompanyId(this.selectedCompanyId);
        this.fieldMappingId = undefined;
    }

    async handleNavigationSelect(event) {
        const name = event.detail.name;
        if (name === SYNC_LOGS) {
            if (!(await this.mayLeave())) {
                return;
            }
            this[NavigationMixin.Navigate]({
                type: 'standard__objectPage',
                attributes: {
                    objectApiName: SYNC_LOG_OBJECT.objectApiName,
                    actionName: 'list'
                },
                state: { filterName: 'All' }
            });
            return;
        }
        await this.openPane(name);
    }

    handleConnectionChange(event) {
        this.loadCompanies(event.detail.connected);
    }

    handleSetup() {
        this.openPane(PANES.OBJECT_MAPPING);
    }

    async handleEditFields(event) {
        const mappingId = event.detail.mappingId;
        if (await this.mayLeave()) {
            this.fieldMappingId = mappingId;
            await this.openPane(PANES.FIELD_MAPPING);
        }
    }
}
