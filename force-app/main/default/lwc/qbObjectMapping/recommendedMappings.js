import saveObjectMapping from '@salesforce/apex/QBSetupController.saveObjectMapping';
import saveFieldMappings from '@salesforce/apex/QBSetupController.saveFieldMappings';
import { reduceErrors } from 'c/ldsUtils';
import { mappingRecord } from './objectMappingRecord';

function fieldMappingRecords(recommendation) {
    return recommendation.fields.map((field) => ({
        QB_Field__c: field.qbField,
        Salesforce_Field__c: field.salesforceField
    }));
}

/**
 * The recommendation's line mappings (docs/data-model.md), each with its field
 * mappings, under the object mapping just saved. Sequential, like the rest.
 */
async function createLines(recommendation, parentId) {
    const lines = recommendation.lines || [];
    for (const line of lines) {
        // eslint-disable-next-line no-await-in-loop -- sequential on purpose (row locks)
        const saved = await saveObjectMapping({
            mapping: {
                Parent_Mapping__c: parentId,
                Collection_Path__c: line.collectionPath,
                Salesforce_Object__c: line.salesforceObject,
                External_Id_Field__c: line.externalIdField,
                Parent_Field__c: line.parentField
            }
        });
        // eslint-disable-next-line no-await-in-loop -- sequential on purpose (row locks)
        await saveFieldMappings({
            objectMappingId: saved.Id,
            mappings: fieldMappingRecords(line)
        });
    }
    return lines.length;
}

async function applyOne(recommendation, existing, companyId) {
    const label = `${recommendation.qbObject} → ${recommendation.salesforceObject}`;
    if (existing) {
        // An existing mapping is the admin's choice: only an empty one of the same
        // target gets the recommended fields, nothing already there is touched.
        const emptySameTarget =
            Number(existing.Field_Mapping_Count__c || 0) === 0 &&
            existing.Salesforce_Object__c === recommendation.salesforceObject;
        if (!emptySameTarget) {
            return { skipped: label };
        }
        await saveFieldMappings({
            objectMappingId: existing.Id,
            mappings: fieldMappingRecords(recommendation)
        });
        return {
            created: `${recommendation.fields.length} field mappings for ${label}`
        };
    }
    const saved = await saveObjectMapping({
        mapping: mappingRecord(companyId, {
            qbObject: recommendation.qbObject,
            salesforceObject: recommendation.salesforceObject,
            externalIdField: recommendation.externalIdField,
            deleteBehavior: recommendation.deleteBehavior
        })
    });
    await saveFieldMappings({
        objectMappingId: saved.Id,
        mappings: fieldMappingRecords(recommendation)
    });
    const lineCount = await createLines(recommendation, saved.Id);
    const lines = lineCount ? ` and ${lineCount} line mappings` : '';
    return {
        created: `${label} with ${recommendation.fields.length} field mappings${lines}`
    };
}

/**
 * Creates the catalog's recommended object and field mappings that are missing
 * for one company, with the line mappings of the new ones. Runs one recommendation at a time: each save updates the
 * same company's roll-up, and parallel saves would contend for its row lock.
 * @return {{created: string[], skipped: string[], failed: string[]}}
 */
export async function createRecommended(
    recommended,
    existingMappings,
    companyId
) {
    const byQbObject = new Map(
        existingMappings.map((mapping) => [
            mapping.QB_Object__c.toLowerCase(),
            mapping
        ])
    );
    const outcome = { created: [], skipped: [], failed: [] };
    for (const recommendation of recommended) {
        try {
            // eslint-disable-next-line no-await-in-loop -- sequential on purpose, see above
            const result = await applyOne(
                recommendation,
                byQbObject.get(recommendation.qbObject.toLowerCase()),
                companyId
            );
            if (result.created) {
                outcome.created.push(result.created);
            } else {
                outcome.skipped.push(result.skipped);
            }
        } catch (error) {
            outcome.failed.push(
                `${recommendation.qbObject}: ${reduceErrors(error).join(' ')}`
            );
        }
    }
    return outcome;
}
