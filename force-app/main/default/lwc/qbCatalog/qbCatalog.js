import getCatalog from '@salesforce/apex/QBCatalogController.getCatalog';

/**
 * The QuickBooks object catalog for the QB Setup components. Its data is the
 * static resource QBSync_Catalog (a byte copy of the middleware's
 * qbo_catalog.json), served by QBCatalogController.getCatalog: a cacheable
 * method, so Lightning Data Service answers repeated loads from its cache.
 */
class Catalog {
    constructor(document) {
        this.document = document;
        this.entitiesByName = new Map(
            document.entities.map((entity) => [
                entity.name.toLowerCase(),
                entity
            ])
        );
    }

    /** Canonical QuickBooks entity names, in catalog order. */
    entityNames() {
        return this.document.entities.map((entity) => entity.name);
    }

    /** The entity called `name`, ignoring case (`salesreceipt` finds SalesReceipt). */
    getEntity(name) {
        return name
            ? this.entitiesByName.get(String(name).toLowerCase())
            : undefined;
    }

    /** A copy of the mappable fields of entity `name`; empty for an unknown entity. */
    getFields(name) {
        const entity = this.getEntity(name);
        return entity ? [...entity.fields] : [];
    }

    /**
     * The collections of entity `name` (docs/data-model.md): lists whose items a
     * line mapping writes as child records, e.g. Line[DetailType=SalesItemLineDetail].
     */
    getCollections(name) {
        return [...(this.getEntity(name)?.collections || [])];
    }

    /** A copy of the fields of one item of a collection; empty when unknown. */
    getCollectionFields(name, collectionPath) {
        const collection = this.getCollections(name).find(
            (candidate) => candidate.path === collectionPath
        );
        return collection ? [...collection.fields] : [];
    }

    /** The object mappings offered by "Use recommended mappings". */
    getRecommended() {
        return this.document.recommended;
    }
}

/** A QuickBooks object's label from the catalog ("Sales Receipt"); its API name when the catalog lacks it. */
export function qbObjectLabel(catalog, name) {
    return catalog?.getEntity(name)?.label || name;
}

/** The catalog; rejects with the Apex error when it cannot be read. */
export async function loadCatalog() {
    return new Catalog(JSON.parse(await getCatalog()));
}

/**
 * The catalog for labels only: undefined when it cannot be read, so a component still shows its
 * rows, their objects by API name (`qbObjectLabel` falls back to them).
 */
export async function loadCatalogForLabels() {
    try {
        return await loadCatalog();
    } catch {
        return undefined;
    }
}
