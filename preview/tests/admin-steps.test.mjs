/**
 * The admin's path through the QB Setup tab: the company is connected, Setup
 * opens Object Mapping, recommended mappings are created, one field mapping is
 * edited, Customer is enabled in Real-Time Configuration and saved.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    choose,
    dismissToasts,
    navigateTo,
    openBrowser,
    openQbSetup,
    records,
    resetOrg,
    screenshot,
    toasts
} from './support.mjs';

let browser;
let page;
let companyId;

before(async () => {
    companyId = await resetOrg();
    browser = await openBrowser();
    page = browser.page;
});

after(async () => {
    await browser?.close();
});

test('QB Setup shows the connected company', async () => {
    await openQbSetup(page);
    const card = page.locator('c-qb-connection-card');
    await assert.doesNotReject(card.getByText('Connected', { exact: true }).waitFor());
    assert.equal((await card.locator('[data-id="name"]').innerText()).trim(), 'Sandbox Company US');
    assert.equal((await card.locator('[data-id="realm"]').innerText()).trim(), '9341455130166501');
    assert.equal((await card.locator('[data-id="environment"]').innerText()).trim(), 'sandbox');
    await assertAccessible(page, 'connection card');
    await screenshot(page, 'connection-card');
});

test('Setup opens Object Mapping; recommended mappings are created', async () => {
    await page.getByRole('button', { name: 'Setup', exact: true }).click();
    await page.getByRole('heading', { name: 'Object Mapping' }).waitFor();
    await page.getByRole('button', { name: 'Use recommended mappings' }).click();
    const table = page.getByRole('table', { name: 'Object mappings' });
    // Creating the recommended mappings is some 40 Apex calls in a row: about 10 s on a busy
    // 2-core machine, the page's 10 s default; a hang still fails.
    await table.locator('tr[data-row="Item"]').waitFor({ timeout: 60000 });
    const rows = await table.locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('th, td')].slice(0, 5).map((c) => c.innerText.trim()))
    );
    // QuickBooks objects by their label, as everywhere on the tab.
    assert.deepEqual(rows, [
        ['Credit Memo', 'QB_Transaction__c', 'QB_External_Id__c', 'Delete', '10'],
        ['Customer', 'Account', 'QB_External_Id__c', 'Deactivate', '16'],
        ['Estimate', 'QB_Transaction__c', 'QB_External_Id__c', 'Delete', '11'],
        ['Invoice', 'QB_Transaction__c', 'QB_External_Id__c', 'Delete', '11'],
        ['Product/Service (Item)', 'Product2', 'QB_External_Id__c', 'Deactivate', '4'],
        ['Payment', 'QB_Payment__c', 'QB_External_Id__c', 'Delete', '7'],
        ['Sales Receipt', 'QB_Transaction__c', 'QB_External_Id__c', 'Delete', '10'],
        ['Vendor', 'Account', 'QB_External_Id__c', 'Deactivate', '10']
    ]);
    const [toast] = await toasts(page);
    assert.equal(toast.variant, 'success');
    assert.match(toast.message, /Customer → Account with 16 field mappings/);

    const stored = await records('QB_Object_Mapping__c');
    // Line mappings (Parent_Mapping__c set) come with the transactions: three per sales form.
    const lineKeys = stored.filter((m) => m.Parent_Mapping__c).map((m) => m.Company_Object_Key__c);
    assert.equal(lineKeys.length, 13);
    assert.ok(lineKeys.includes(`${companyId}:Invoice:Line[DetailType=SalesItemLineDetail]`));
    assert.ok(lineKeys.includes(`${companyId}:Payment:Line`));
    assert.deepEqual(stored.filter((m) => !m.Parent_Mapping__c).map((m) => m.Company_Object_Key__c).sort(), [
        `${companyId}:CreditMemo`,
        `${companyId}:Customer`,
        `${companyId}:Estimate`,
        `${companyId}:Invoice`,
        `${companyId}:Item`,
        `${companyId}:Payment`,
        `${companyId}:SalesReceipt`,
        `${companyId}:Vendor`
    ]);
    await assertAccessible(page, 'object mapping');
    await screenshot(page, 'object-mapping');
});

test('Field Mapping: the phone number row gets the Digits Only transform', async () => {
    await dismissToasts(page);
    await page.getByRole('button', { name: 'Field mappings of Customer' }).click();
    await page.getByRole('heading', { name: 'Field Mapping' }).waitFor();
    const phoneRow = page.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^QuickBooks field, row/ }).filter({
            hasText: 'PrimaryPhone.FreeFormNumber'
        })
    });
    await phoneRow.waitFor();
    await choose(page, /^Transform, row/, 'Digits Only', phoneRow);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() =>
        (window.__previewToasts || []).some((t) => t.title === 'Field mappings saved')
    );
    const phone = (await records('QB_Field_Mapping__c')).find(
        (f) => f.QB_Field__c === 'PrimaryPhone.FreeFormNumber' && f.Transform__c
    );
    assert.equal(phone?.Transform__c, 'Digits Only');
    await assertAccessible(page, 'field mapping');
    await screenshot(page, 'field-mapping');
});

test('Field Mapping: the lines of Invoice, mapped by the recommendation, are saved', async () => {
    await dismissToasts(page);
    await choose(page, 'Object mapping', 'Invoice → QB_Transaction__c');
    const lines = page.getByRole('table', { name: 'Line mappings' });
    const productLines = lines.locator('tr[data-line]', {
        hasText: 'Line[DetailType=SalesItemLineDetail]'
    });
    await productLines.waitFor();
    assert.equal(await lines.locator('tr[data-line]').count(), 3);
    assert.equal((await productLines.locator('[data-cell="count"]').innerText()).trim(), '8');

    await productLines.getByRole('button', { name: 'Edit fields' }).click();
    await page
        .getByRole('heading', {
            name: 'Fields of the lines Line[DetailType=SalesItemLineDetail] → QB_Transaction_Line__c'
        })
        .waitFor();
    const itemRow = page.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^QuickBooks field, row/ }).filter({
            hasText: 'SalesItemLineDetail.ItemRef'
        })
    });
    await itemRow.waitFor();
    // Save appears with an edit: the line's item reference is trimmed.
    await choose(page, /^Transform, row/, 'Trim', itemRow);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() =>
        (window.__previewToasts || []).some(
            (t) =>
                t.title === 'Field mappings saved' &&
                t.message.includes('Invoice Line[DetailType=SalesItemLineDetail] → QB_Transaction_Line__c')
        )
    );
    const itemMapping = (await records('QB_Field_Mapping__c')).find(
        (f) => f.QB_Field__c === 'SalesItemLineDetail.ItemRef'
    );
    assert.equal(itemMapping?.Salesforce_Field__c, 'Product__c');
    assert.equal(itemMapping?.Transform__c, 'Trim');
    await assertAccessible(page, 'line mapping');
    await screenshot(page, 'line-mapping');
});

test('Real-Time Configuration: enable Customer and Save', async () => {
    await dismissToasts(page);
    await navigateTo(page, 'Real-Time Configuration');
    const table = page.getByRole('table', { name: 'Real-time sync by QuickBooks object' });
    const customer = table.locator('tr[data-row="Customer"]');
    await customer.waitFor();
    assert.equal((await customer.locator('[data-cell="status"]').innerText()).trim(), 'Ready');
    const banner = page.locator('[data-id="not-enabled"]');
    assert.match(await banner.innerText(), /not enabled for real-time sync: Credit Memo, Customer, Estimate, Invoice, Product\/Service \(Item\), Payment, Sales Receipt, Vendor\./);

    await customer.getByRole('switch', { name: 'Real-time sync for Customer' }).check({ force: true });
    // Not "Enabled" before Save.
    assert.equal((await customer.locator('[data-cell="status"]').innerText()).trim(), 'Unsaved');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() =>
        (window.__previewToasts || []).some((t) => t.title === 'Real-time configuration saved')
    );
    await page.locator('[role="status"].slds-theme_success').first().waitFor();
    await customer.locator('[data-cell="status"]', { hasText: 'Enabled' }).waitFor();
    assert.doesNotMatch(await banner.innerText(), /Customer/);

    const enabled = (await records('QB_Object_Mapping__c'))
        .filter((m) => m.Realtime_Enabled__c)
        .map((m) => m.QB_Object__c);
    assert.deepEqual(enabled, ['Customer']);
    await assertAccessible(page, 'real-time configuration');
    await screenshot(page, 'realtime-configuration');
    assert.deepEqual(browser.pageErrors, []);
});
