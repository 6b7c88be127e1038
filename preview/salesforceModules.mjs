/**
 * Rollup plugin: the Salesforce-only modules the package's components import,
 * provided by the preview adapters in ./adapters. It runs before the LWC
 * plugin so these names never reach its resolver (lightning-base-components'
 * own `lightning/navigation` re-exports `force/navigation`, which exists only
 * inside Salesforce).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ADAPTERS = path.join(HERE, 'adapters');
// Resolve the LWC engine as if imported from the preview itself: force-app files would
// otherwise get the repository root's copy (sfdx-lwc-jest's), and two engines in one page
// don't recognise each other's LightningElement.
const PREVIEW_IMPORTER = path.join(HERE, 'src', 'main.js');
const VIRTUAL = '\0salesforce:';

const LIGHTNING_MODULES = {
    'lightning/uiObjectInfoApi': 'uiObjectInfoApi.js',
    'lightning/platformShowToastEvent': 'platformShowToastEvent.js',
    'lightning/navigation': 'navigation.js',
    'lightning/empApi': 'empApi.js'
};

// Gates closed in the preview: with element internals on, lightning-base-combobox calls
// attachInternals(), which the LWC engine refuses under synthetic shadow ("attachInternals API is
// not supported in synthetic shadow"), and every lightning-combobox renders empty.
const CLOSED_GATES = new Set(['@salesforce/gate/bc.260.enableComboboxElementInternals']);

const APEX = /^@salesforce\/apex\/([A-Za-z_]\w*)\.([A-Za-z_]\w*)$/;
const SCHEMA = /^@salesforce\/schema\/([\w.]+)$/;

const adapter = (file) => JSON.stringify(path.join(ADAPTERS, file));

export default function salesforceModules() {
    return {
        name: 'salesforce-modules',
        resolveId(source, importer) {
            if ((source === 'lwc' || source.startsWith('@lwc/')) && importer !== PREVIEW_IMPORTER) {
                return this.resolve(source, PREVIEW_IMPORTER, { skipSelf: true });
            }
            if (CLOSED_GATES.has(source)) {
                return path.join(ADAPTERS, 'closedGate.js');
            }
            if (LIGHTNING_MODULES[source]) {
                return path.join(ADAPTERS, LIGHTNING_MODULES[source]);
            }
            if (APEX.test(source) || SCHEMA.test(source)) {
                return VIRTUAL + source;
            }
            if (source.startsWith('@salesforce/apex/') || source.startsWith('@salesforce/schema/')) {
                this.error(`Unsupported Salesforce module name: ${source}`);
            }
            return null;
        },
        load(id) {
            if (!id.startsWith(VIRTUAL)) {
                return null;
            }
            const source = id.slice(VIRTUAL.length);
            const apex = APEX.exec(source);
            if (apex) {
                return [
                    `import { apexMethod } from ${adapter('apex.js')};`,
                    `export default apexMethod(${JSON.stringify(apex[1])}, ${JSON.stringify(apex[2])});`
                ].join('\n');
            }
            const schema = SCHEMA.exec(source);
            return [
                `import { schemaReference } from ${adapter('schema.js')};`,
                `export default schemaReference(${JSON.stringify(schema[1])});`
            ].join('\n');
        }
    };
}
