import { LightningElement } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import getCompanies from '@salesforce/apex/QBSetupController.getCompanies';
import SYNC_LOG_OBJECT from '@salesforce/schema/QB_Sync_Log__c';
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
    fieldMappingId;

    connectedCallback() {
        // The company chosen before a reload of the browser tab, while it still exists.
        this.selectedCompanyId = rememberedCompanyId();
        this.loadCompanies(false);
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

    handleCompanyChange(event) {
        this.selectedCompanyId = event.detail.value;
        rememberCompanyId(this.selectedCompanyId);
        this.fieldMappingId = undefined;
    }

    handleNavigationSelect(event) {
        const name = event.detail.name;
        if (name === SYNC_LOGS) {
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
        this.selectedPane = name;
    }

    handleConnectionChange(event) {
        this.loadCompanies(event.detail.connected);
    }

    handleSetup() {
        this.selectedPane = PANES.OBJECT_MAPPING;
    }

    handleEditFields(event) {
        this.fieldMappingId = event.detail.mappingId;
        this.selectedPane = PANES.FIELD_MAPPING;
    }
}
