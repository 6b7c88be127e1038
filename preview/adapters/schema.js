/**
 * What `import X from '@salesforce/schema/<Object>[.<Field>]'` gives a
 * component: `{objectApiName}` for an object, `{objectApiName, fieldApiName}`
 * for a field (a relationship path such as `Account.Owner.Name` keeps the
 * dotted path in fieldApiName, as on the platform).
 */
export function schemaReference(path) {
    const [objectApiName, ...fieldPath] = String(path).split('.');
    if (!objectApiName) {
        throw new Error(`Not a schema reference: ${path}`);
    }
    return fieldPath.length
        ? { objectApiName, fieldApiName: fieldPath.join('.') }
        : { objectApiName };
}
