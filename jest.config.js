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
    // Only component tests: other folders (preview build, browser tests) have their own runners.
    testMatch: ['<rootDir>/force-app/**/__tests__/**/*.test.js'],
    testPathIgnorePatterns: [
        ...jestConfig.testPathIgnorePatterns,
        '/node_modules/',
        '<rootDir>/.venv/'
    ],
    modulePathIgnorePatterns: ['<rootDir>/.venv/', '<rootDir>/preview/']
};
