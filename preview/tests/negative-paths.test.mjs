/**
 * What the QB Setup tab refuses, and how it says so: an object without field
 * mappings cannot be enabled; a save the org rejects names the failing row;
 * a required Salesforce field left unmapped blocks the field-mapping save.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    deleteRecords,
    navigateTo,
    openBrowser,
    openQbSetup,
    records,
    resetOrg,
    screenshot,
    seedMapping,
    toasts
} from './support.mjs';

// Enough for Account's required fields (Name; QB_Active__c is non-nillable in this org).
const ACCOUNT_FIELDS = [
    ['DisplayName', 'Name'],
    ['Active', 'QB_Active__c'],
    ['PrimaryPhone.FreeFormNumber', 'Phone']
];

let browser;
let page;
let companyId;

before(async () => {
    browser = await openBrowser();
    page = browser.page;
});

beforeEach(async () => {
    companyId = await resetOrg();
});

after(async () => {
    await browser?.close();
});

async function openRealtime() {
    await openQbSetup(page);
    await navigateTo(page, 'Real-Time Configuration');
    const table = page.getByRole('table', { name: 'Real-time sync by QuickBooks object' });
    await table.locator('tr[data-row="Customer"]').waitFor();
    return table;
}

test('Vendor without field mappings cannot be enabled and the row says why', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    await seedMapping(companyId, 'Vendor', []);
    const table = await openRealtime();
    const vendor = table.locator('tr[data-row="Vendor"]');
    assert.equal((await vendor.locator('[data-cell="status"]').innerText()).trim(), 'Needs field mappings');
    assert.equal(
        (await vendor.locator('[data-cell="reason"]').innerText()).trim(),
        'Add field mappings before enabling real-time sync.'
    );
    const toggle = vendor.getByRole('switch', { name: 'Real-time sync for Vendor' });
    assert.equal(await toggle.isDisabled(), true);
    const customerToggle = table
        .locator('tr[data-row="Customer"]')
        .getByRole('switch', { name: 'Real-time sync for Customer' });
    assert.equal(await customerToggle.isDisabled(), false);
    await assertAccessible(page, 'real-time configuration, Vendor needs field mappings');
    await screenshot(page, 'realtime-vendor-needs-field-mappings');
});

test('a save the org rejects shows the failing row; the others are saved', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    const vendor = await seedMapping(companyId, 'Vendor', ACCOUNT_FIELDS);
    const table = await openRealtime();
    const vendorRow = table.locator('tr[data-row="Vendor"]');
    assert.equal((await vendorRow.locator('[data-cell="status"]').innerText()).trim(), 'Ready');

    // Meanwhile someone removes Vendor's field mappings: the page still shows it Ready.
    await deleteRecords(vendor.fieldIds);

    for (const name of ['Customer', 'Vendor']) {
        await table
            .locator(`tr[data-row="${name}"]`)
            .getByRole('switch', { name: `Real-time sync for ${name}` })
            .check({ force: true });
    }
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const rowErrors = page.locator('[data-id="row-errors"]');
    await rowErrors.getByText('Some objects were not saved').waitFor();
    assert.match(
        await rowErrors.innerText(),
        /Vendor: Add field mappings before enabling real-time sync\./
    );
    assert.doesNotMatch(await rowErrors.innerText(), /Customer/);
    const saved = await toasts(page);
    assert.deepEqual(
        saved.map((t) => [t.title, t.message]),
        [['Real-time configuration saved', '1 object updated.']]
    );
    const enabled = Object.fromEntries(
        (await records('QB_Object_Mapping__c')).map((m) => [m.QB_Object__c, m.Realtime_Enabled__c])
    );
    assert.deepEqual(enabled, { Customer: true, Vendor: false });
    await assertAccessible(page, 'real-time configuration, row error');
    await screenshot(page, 'realtime-row-error');
});

test('a required Salesforce field left unmapped blocks the field-mapping save', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    await openQbSetup(page);
    await navigateTo(page, 'Field Mapping');
    const table = page.getByRole('table', { name: 'Field mappings' });
    const nameRow = table.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^Salesforce field, row/ }).filter({
            hasText: 'Account Name (Name)'
        })
    });
    await nameRow.waitFor();
    await nameRow.getByRole('button', { name: /^Remove row/ }).click();
    await nameRow.waitFor({ state: 'detached' });
    const missing = page.locator('[data-id="missing-required"]');
    assert.match(await missing.innerText(), /Required Salesforce fields not mapped yet: Account Name \(Name\)\./);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const validation = page.locator('[data-id="validation"]');
    await validation.getByText('The field mappings were not saved').waitFor();
    assert.match(
        await validation.innerText(),
        /Map the required Salesforce fields first: Account Name \(Name\)\./
    );
    const stored = (await records('QB_Field_Mapping__c')).map((f) => f.Salesforce_Field__c).sort();
    assert.deepEqual(stored, ['Name', 'Phone', 'QB_Active__c'], 'nothing was saved');
    await assertAccessible(page, 'field mapping, required field missing');
    await screenshot(page, 'field-mapping-required-field-missing');
    assert.deepEqual(browser.pageErrors, []);
});
