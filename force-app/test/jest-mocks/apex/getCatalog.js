// QBCatalogController.getCatalog answering with the package's own catalog: the text of the static
// resource QBSync_Catalog, as Apex reads it from StaticResource.Body. Use in a test file with:
// jest.mock('@salesforce/apex/QBCatalogController.getCatalog',
//     () => require('../../../../../test/jest-mocks/apex/getCatalog'), { virtual: true });
const { readFileSync } = require('fs');
const { join } = require('path');

const CATALOG_JSON = readFileSync(
    join(
        __dirname,
        '..',
        '..',
        '..',
        'main',
        'default',
        'staticresources',
        'QBSync_Catalog.json'
    ),
    'utf8'
);

module.exports = {
    default: jest.fn(() => Promise.resolve(CATALOG_JSON)),
    CATALOG_JSON
};
