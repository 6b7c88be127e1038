/**
 * Builds the QB Setup tab as a standalone page: the package's components from
 * force-app (compiled as they are), lightning-base-components for `lightning-*`,
 * and the preview adapters for Salesforce-only modules
 * (../shared/research/salesforce.md §8).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import lwc from '@lwc/rollup-plugin';
import replace from '@rollup/plugin-replace';
import salesforceModules from './salesforceModules.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, 'dist');
const componentsDir = path.join(here, '..', 'force-app', 'main', 'default', 'lwc');

/**
 * The package's components as `c/<name>` modules. force-app keeps them in
 * lwc/<name>/ (no namespace folder), so each one is an alias record.
 */
function packageComponents() {
    return readdirSync(componentsDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
        .map((entry) => ({
            name: `c/${entry.name}`,
            path: path.join(componentsDir, entry.name, `${entry.name}.js`)
        }));
}

/** Copies the page (src/index.html) next to the bundle. */
function page() {
    return {
        name: 'preview-page',
        async generateBundle() {
            const { readFile } = await import('node:fs/promises');
            this.emitFile({
                type: 'asset',
                fileName: 'index.html',
                source: await readFile(path.join(here, 'src', 'index.html'), 'utf8')
            });
        }
    };
}

/**
 * lightning-base-components' own module records, with absolute paths. An
 * `{npm: ...}` record would be resolved from the importer's package (the
 * repository root for force-app files), where this package is not installed.
 */
function baseComponents() {
    const packageDir = path.join(here, 'node_modules', 'lightning-base-components');
    const { lwc: config } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
    return config.modules.map((record) =>
        record.dir
            ? { dir: path.join(packageDir, record.dir) }
            : { name: record.name, path: path.join(packageDir, record.path) }
    );
}

export default {
    input: path.join(here, 'src', 'main.js'),
    output: {
        file: path.join(outDir, 'app.js'),
        format: 'esm',
        // Base components import some of their parts lazily.
        inlineDynamicImports: true,
        sourcemap: false
    },
    plugins: [
        salesforceModules(),
        lwc({
            rootDir: here,
            modules: [
                // The package's components, namespace `c`, unchanged.
                ...packageComponents(),
                ...baseComponents()
            ]
        }),
        replace({
            'process.env.NODE_ENV': JSON.stringify('production'),
            // Without it the bundle throws "Cannot read properties of undefined (reading 'SSR')".
            'import.meta.env.SSR': 'false',
            preventAssignment: true
        }),
        page()
    ],
    onwarn(warning, warn) {
        // Template lint inside the published base components is theirs to fix, not ours.
        const file = warning.id || warning.loc?.file || '';
        if (file.includes(`${path.sep}lightning-base-components${path.sep}`)) {
            return;
        }
        if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'THIS_IS_UNDEFINED') {
            return;
        }
        warn(warning);
    }
};
