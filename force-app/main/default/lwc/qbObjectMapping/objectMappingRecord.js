import COMPANY_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Company__c';
import QB_OBJECT_FIELD from '@salesforce/schema/QB_Object_Mapping__c.QB_Object__c';
import SALESFORCE_OBJECT_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Salesforce_Object__c';
import EXTERNAL_ID_FIELD from '@salesforce/schema/QB_Object_Mapping__c.External_Id_Field__c';
import DELETE_BEHAVIOR_FIELD from '@salesforce/schema/QB_Object_Mapping__c.Delete_Behavior__c';

/**
 * The QB_Object_Mapping__c record saveObjectMapping receives. Apex derives
 * Company_Object_Key__c itself and keeps the company of an existing mapping.
 */
export function mappingRecord(companyId, draft) {
    const record = {
        [COMPANY_FIELD.fieldApiName]: companyId,
        [QB_OBJECT_FIELD.fieldApiName]: draft.qbObject,
        [SALESFORCE_OBJECT_FIELD.fieldApiName]: draft.salesforceObject,
        [EXTERNAL_ID_FIELD.fieldApiName]: draft.externalIdField,
        [DELETE_BEHAVIOR_FIELD.fieldApiName]: draft.deleteBehavior
    };
    if (draft.id) {
        record.Id = draft.id;
    }
    return record;
}
