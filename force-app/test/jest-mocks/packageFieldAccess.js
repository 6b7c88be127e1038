// A UI API getObjectInfo fixture as a user holding one of the package's permission sets sees it.
// The package grants nothing through profiles, and a field it deploys is visible to no profile, so
// for the package's own fields (those under force-app/main/default/objects/<Object>/fields) only
// the permission set decides: absent from it, the field is not in the answer; read-only, it is
// neither createable nor updateable. Standard fields and the org's own fields keep the fixture's
// values (they come from the org's profiles).
// Use: getObjectInfo.emit(asPermissionSetSees(ACCOUNT_INFO, 'QuickBooks_Sync_Admin')).
const { existsSync, readFileSync, readdirSync } = require('fs');
const { join } = require('path');
const { XMLParser } = require('fast-xml-parser');

const DEFAULT = join(__dirname, '..', '..', 'main', 'default');

function asList(value) {
    if (value === undefined) {
        return [];
    }
    return Array.isArray(value) ? value : [value];
}

function permissionSet(name) {
    const xml = readFileSync(
        join(DEFAULT, 'permissionsets', `${name}.permissionset-meta.xml`),
        'utf8'
    );
    return new XMLParser({ parseTagValue: false }).parse(xml).PermissionSet;
}

function packageFields(objectApiName) {
    const folder = join(DEFAULT, 'objects', objectApiName, 'fields');
    if (!existsSync(folder)) {
        return new Set();
    }
    return new Set(
        readdirSync(folder).map((file) => file.replace('.field-meta.xml', ''))
    );
}

function asPermissionSetSees(objectInfo, permissionSetName) {
    const granted = permissionSet(permissionSetName);
    const fieldAccess = new Map(
        asList(granted.fieldPermissions).map((permission) => [
            permission.field,
            permission
        ])
    );
    const ownFields = packageFields(objectInfo.apiName);

    const fields = {};
    for (const [name, field] of Object.entries(objectInfo.fields)) {
        if (!ownFields.has(name)) {
            fields[name] = field;
            continue;
        }
        const access = fieldAccess.get(`${objectInfo.apiName}.${name}`);
        if (access?.readable !== 'true') {
            continue;
        }
        const editable = access.editable === 'true';
        fields[name] = {
            ...field,
            createable: field.createable && editable,
            updateable: field.updateable && editable
        };
    }
    return { ...objectInfo, fields };
}

module.exports = { asPermissionSetSees };
