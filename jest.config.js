const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

module.exports = {
    ...jestConfig,
    // Custom platform mocks where the stubs that ship with sfdx-lwc-jest do not
    // record what a test needs to assert on (lwc-recipes keeps them in the same place).
    moduleNameMapper: {
        '^lightning/navigation$':
            '<rootDir>/force-app/test/jest-mocks/lightning/navigation'
    },
    setupFilesAfterEnv: [
        ...(jestConfig.setupFilesAfterEnv || []),
        '<rootDir>/force-app/test/jest-mocks/sa11ySetup.js'
    ],
    // An axe check of a whole pane (qbRealtimeConfig lists every QuickBooks object) is CPU
    // bound: about 2 s on a loaded 2-core machine, past Jest's default 5 s budget when the
    // machine is busier. The budget is for detecting a hang, which 20 s still does.
    testTimeout: 20000,
    // Only component tests: other folders (preview build, browser tests) have their own runners.
    testMatch: ['<rootDir>/force-app/**/__tests__/**/*.test.js'],
    testPathIgnorePatterns: [
        ...jestConfig.testPathIgnorePatterns,
        '/node_modules/',
        '<rootDir>/.venv/'
    ],
    modulePathIgnorePatterns: ['<rootDir>/.venv/', '<rootDir>/preview/']
};
