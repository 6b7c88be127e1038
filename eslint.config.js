const { defineConfig } = require('eslint/config');
const globals = require('globals');
const lwcConfig = require('@salesforce/eslint-config-lwc');

// Flat config as in lwc-recipes: the recommended LWC rules on component code; tests
// additionally get jest and node globals and may call wire adapters' test helpers.
module.exports = defineConfig([
    {
        ignores: ['.venv/**', 'node_modules/**', '**/.sfdx/**', '**/.sf/**']
    },
    {
        files: ['force-app/main/default/lwc/**/*.js'],
        extends: [lwcConfig.configs.recommended]
    },
    {
        files: ['force-app/main/default/lwc/**/__tests__/**/*.js'],
        languageOptions: {
            globals: {
                ...globals.node,
                ...globals.jest
            }
        },
        rules: {
            '@lwc/lwc/no-unexpected-wire-adapter-usages': 'off',
            // Tests wait one macrotask (setTimeout 0) so chains of awaited Apex calls settle.
            '@lwc/lwc/no-async-operation': 'off'
        }
    },
    {
        files: ['force-app/test/jest-mocks/**/*.js'],
        extends: [lwcConfig.configs.recommended],
        languageOptions: {
            globals: {
                ...globals.node,
                ...globals.jest
            }
        }
    }
]);
