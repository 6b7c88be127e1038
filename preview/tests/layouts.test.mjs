/**
 * Every pane at 768, 1024 and 1440 px: the page never scrolls sideways (tables
 * wrap or scroll inside their card), and below 1024 px the navigation stacks above
 * the pane. A screenshot per pane and width goes to SCREENSHOT_DIR/layouts (not
 * kept in the repository); three representative ones to SCREENSHOT_DIR.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    navigateTo,
    openBrowser,
    openQbSetup,
    resetOrg,
    screenshot,
    seedMapping
} from './support.mjs';

const WIDTHS = [768, 1024, 1440];
const PANES = [
    { label: 'Setup', heading: 'QuickBooks connection', shot: 'setup', pane: 'c-qb-connection-card' },
    { label: 'Object Mapping', heading: 'Object Mapping', shot: 'object-mapping', pane: 'c-qb-object-mapping' },
    { label: 'Field Mapping', heading: 'Field Mapping', shot: 'field-mapping', pane: 'c-qb-field-mapping' },
    {
        label: 'Real-Time Configuration',
        heading: 'Real-Time Configuration',
        shot: 'realtime',
        pane: 'c-qb-realtime-config'
    }
];
// The screenshots kept in docs/screenshots; the others are test artifacts.
const KEPT = new Set(['layout-realtime-768', 'layout-field-mapping-1024', 'layout-object-mapping-1440']);

let browser;
let page;

before(async () => {
    const companyId = await resetOrg();
    // A transaction mapping: Field Mapping then shows its Lines table too.
    await seedMapping(
        companyId,
        'Invoice',
        [
            ['DocNumber', 'Name'],
            ['TotalAmt', 'Total_Amount__c']
        ],
        { Salesforce_Object__c: 'QB_Transaction__c' }
    );
    await seedMapping(companyId, 'Customer', [
        ['DisplayName', 'Name'],
        ['Active', 'QB_Active__c'],
        ['PrimaryPhone.FreeFormNumber', 'Phone']
    ]);
    browser = await openBrowser();
    page = browser.page;
    await openQbSetup(page);
});

after(async () => {
    await browser?.close();
});

/** How far the page scrolls sideways (0 when it fits the window). */
const horizontalOverflow = () =>
    page.evaluate(() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth);

for (const width of WIDTHS) {
    for (const pane of PANES) {
        test(`${pane.label} fits ${width} px`, async () => {
            await page.setViewportSize({ width, height: 900 });
            await navigateTo(page, pane.label);
            await page.getByRole('heading', { name: pane.heading, exact: true }).waitFor();
            await page.locator('lightning-spinner').waitFor({ state: 'detached' });
            if (pane.label === 'Field Mapping') {
                await page.getByRole('table', { name: 'Field mappings' }).locator('tbody tr').first().waitFor();
            }
            const name = `layout-${pane.shot}-${width}`;
            await screenshot(page, KEPT.has(name) ? name : `layouts/${name}`);
            assert.equal(await horizontalOverflow(), 0, `${name}: the page scrolls sideways`);

            const navigation = await page.locator('lightning-vertical-navigation').boundingBox();
            const content = await page.locator(pane.pane).boundingBox();
            if (width < 1024) {
                assert.ok(navigation.y + navigation.height <= content.y, `${name}: navigation stacked above`);
            } else {
                assert.ok(navigation.x + navigation.width <= content.x, `${name}: navigation beside the pane`);
            }
        });
    }
}

test('the narrowest layout passes axe', async () => {
    await page.setViewportSize({ width: 768, height: 900 });
    await assertAccessible(page, 'real-time configuration at 768 px');
    assert.deepEqual(browser.pageErrors, []);
});
