// Converts force-app from source format to Metadata API format with
// @salesforce/source-deploy-retrieve (what `sf project deploy start` does before deploying), into a
// temporary directory. Fails on any resolution or conversion error, and when a component type
// expected in the package is missing from the result (research/salesforce.md §5(d)).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
    ComponentSet,
    MetadataConverter
} from '@salesforce/source-deploy-retrieve';

const source = resolve(process.argv[2] ?? 'force-app');
const REQUIRED_TYPES = [
    'ApexClass',
    'CustomApplication',
    // The alerts' notification type, which the middleware looks up by name.
    'CustomNotificationType',
    'CustomObject',
    'CustomTab',
    // The sync-log reports and dashboard (docs/operating.md, Reports and alerts).
    'Dashboard',
    'PermissionSet',
    'Report',
    'ReportType',
    // The QuickBooks object catalog, which Apex and the components read.
    'StaticResource'
];

const outputDirectory = mkdtempSync(join(tmpdir(), 'qbsync-convert-'));
try {
    // fromSource honours the project's .forceignore (LWC tests and Jest mocks stay out).
    const components = ComponentSet.fromSource(source);
    await new MetadataConverter().convert(components, 'metadata', {
        type: 'directory',
        outputDirectory,
        genUniqueDir: false
    });
    const types = new Map();
    for (const component of components.getSourceComponents()) {
        types.set(
            component.type.name,
            (types.get(component.type.name) ?? 0) + 1
        );
    }
    const missing = REQUIRED_TYPES.filter((type) => !types.has(type));
    if (missing.length > 0) {
        throw new Error(`no ${missing.join(', ')} found under ${source}`);
    }
    const summary = [...types]
        .map(([type, count]) => `${type} ${count}`)
        .join(', ');
    console.log(
        `convert-source: ${components.size} components converted to Metadata API format (${summary})`
    );
} catch (error) {
    console.error(`convert-source: ${error.name}: ${error.message}`);
    process.exitCode = 1;
} finally {
    rmSync(outputDirectory, { recursive: true, force: true });
}
