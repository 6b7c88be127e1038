// A small fixed catalog with the documented `c/qbCatalog` API, so component tests
// do not change whenever the generated catalog grows. Use in a test file with:
// jest.mock('c/qbCatalog', () => require('../../../../test/jest-mocks/qbCatalog'), { virtual: true });
const CATALOG = require('./data/qbCatalog.json');

const byName = (name) =>
    CATALOG.entities.find(
        (entity) => entity.name.toLowerCase() === String(name).toLowerCase()
    );

module.exports = {
    CATALOG,
    entityNames: () => CATALOG.entities.map((entity) => entity.name),
    getEntity: (name) => byName(name),
    getFields: (name) => byName(name)?.fields || [],
    getRecommended: () => CATALOG.recommended
};
