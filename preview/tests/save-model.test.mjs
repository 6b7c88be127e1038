/**
 * One save model on every pane: unsaved edits are shown and kept until the admin
 * chooses to throw them away (in-app navigation, the mapping picker, leaving the
 * browser tab); Save says what the middleware made of the change; risky rows are
 * confirmed; New moves focus into the form; dialogs pass axe.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    choose,
    navigateTo,
    openBrowser,
    openQbSetup,
    records,
    resetOrg,
    screenshot,
    seedMapping
} from './support.mjs';

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

const leaveDialog = () => page.getByRole('alertdialog', { name: 'Leave without saving?' });

async function openFieldMapping() {
    await openQbSetup(page);
    await navigateTo(page, 'Field Mapping');
    const table = page.getByRole('table', { name: 'Field mappings' });
    const phoneRow = table.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^QuickBooks field, row/ }).filter({
            hasText: 'PrimaryPhone.FreeFormNumber'
        })
    });
    await phoneRow.waitFor();
    return { table, phoneRow };
}

test('leaving a pane with unsaved edits asks first; Stay keeps them, Leave drops them', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    const { table, phoneRow } = await openFieldMapping();
    await phoneRow.getByRole('button', { name: /^Remove row/ }).click();
    await phoneRow.waitFor({ state: 'detached' });
    await page.locator('[data-id="unsaved"]', { hasText: 'Unsaved changes' }).waitFor();

    await navigateTo(page, 'Real-Time Configuration');
    await leaveDialog().waitFor();
    // Focus is on the safe choice.
    const focused = await page.evaluate(() => {
        let active = document.activeElement;
        while (active?.shadowRoot?.activeElement) {
            active = active.shadowRoot.activeElement;
        }
        return active?.textContent.trim();
    });
    assert.equal(focused, 'Stay');
    await assertAccessible(page, 'leave-without-saving dialog');
    await screenshot(page, 'unsaved-leave-dialog');
    await leaveDialog().getByRole('button', { name: 'Stay' }).click();
    await leaveDialog().waitFor({ state: 'detached' });
    assert.equal(await table.locator('tbody tr').count(), 2, 'the removed row stays removed');
    assert.equal(
        await page.getByRole('heading', { name: 'Field Mapping' }).count(),
        1,
        'still on Field Mapping'
    );

    await navigateTo(page, 'Real-Time Configuration');
    await leaveDialog().getByRole('button', { name: 'Leave without saving' }).click();
    await page.getByRole('table', { name: 'Real-time sync by QuickBooks object' }).waitFor();
    const stored = (await records('QB_Field_Mapping__c')).map((f) => f.Salesforce_Field__c).sort();
    assert.deepEqual(stored, ['Name', 'Phone', 'QB_Active__c'], 'nothing was saved');
    assert.deepEqual(browser.pageErrors, []);
});

test('the mapping picker asks before switching away from unsaved rows', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    await seedMapping(companyId, 'Vendor', ACCOUNT_FIELDS);
    // Customer comes first.
    const { table, phoneRow } = await openFieldMapping();
    await phoneRow.getByRole('button', { name: /^Remove row/ }).click();
    await phoneRow.waitFor({ state: 'detached' });

    await choose(page, 'Object mapping', 'Vendor → Account');
    await leaveDialog().getByRole('button', { name: 'Stay' }).click();
    assert.equal(await table.locator('tbody tr').count(), 2, 'the removed row stays removed');
    assert.match(
        await page.getByRole('combobox', { name: 'Object mapping' }).innerText(),
        /Customer → Account/
    );
    // Cancel puts the saved rows back: nothing is left unsaved for the next test's reload.
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await table.locator('tbody tr').nth(2).waitFor();
});

test('leaving the browser tab with unsaved edits asks (beforeunload)', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    const second = await page.context().newPage();
    try {
        await openQbSetup(second);
        await navigateTo(second, 'Real-Time Configuration');
        const customer = second.locator('tr[data-row="Customer"]');
        await customer.getByRole('switch', { name: 'Real-time sync for Customer' }).check({ force: true });
        await customer.locator('[data-cell="status"]', { hasText: 'Unsaved' }).waitFor();
        const asked = new Promise((resolve) => {
            second.once('dialog', async (dialog) => {
                resolve(dialog.type());
                await dialog.accept();
            });
        });
        await second.close({ runBeforeUnload: true });
        assert.equal(await asked, 'beforeunload');
    } finally {
        if (!second.isClosed()) {
            await second.close();
        }
    }
});

test('Real-Time: Unsaved until saved, mapped objects first, then what the middleware said', async () => {
    await seedMapping(companyId, 'Vendor', ACCOUNT_FIELDS);
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    await seedMapping(companyId, 'Invoice', [], {
        Salesforce_Object__c: 'QB_Transaction__c'
    });
    await openQbSetup(page);
    await navigateTo(page, 'Real-Time Configuration');
    const table = page.getByRole('table', { name: 'Real-time sync by QuickBooks object' });
    const customer = table.locator('tr[data-row="Customer"]');
    await customer.waitFor();
    const order = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.row));
    assert.deepEqual(order.slice(0, 3), ['Customer', 'Invoice', 'Vendor']);
    assert.match(
        await page.locator('[data-id="not-enabled"]').innerText(),
        /Invoice cannot be enabled until it has field mappings/
    );

    await customer.getByRole('switch', { name: 'Real-time sync for Customer' }).check({ force: true });
    assert.equal((await customer.locator('[data-cell="status"]').innerText()).trim(), 'Unsaved');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await customer.locator('[data-cell="status"]', { hasText: 'Enabled' }).waitFor();
    // This stack has no middleware: the notification's failure is what the page reports.
    const status = page.locator('[data-id="live-status"]', {
        hasText: /^Saved, but the middleware was not told: /
    });
    await status.waitFor();
    await assertAccessible(page, 'real-time configuration after save');
    await screenshot(page, 'realtime-saved-status');
    // Saved: nothing is unsaved, so leaving does not ask.
    await navigateTo(page, 'Object Mapping');
    await page.getByRole('heading', { name: 'Object Mapping' }).waitFor();
    assert.equal(await leaveDialog().count(), 0);
});

test('Field Mapping: a row that may fail is confirmed before Save', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    await openFieldMapping();
    const activeRow = page.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^Salesforce field, row/ }).filter({
            hasText: 'QuickBooks Active (QB_Active__c)'
        })
    });
    // Text into a checkbox: only "true" or "false" fit.
    await choose(page, /^QuickBooks field, row/, /\(CompanyName\)$/, activeRow);
    const hint = activeRow.locator('[data-cell="hint"]');
    assert.match(await hint.innerText(), /^May fail/);
    assert.match(await hint.getAttribute('class'), /slds-theme_warning/);

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const dialog = page.getByRole('alertdialog', { name: 'Save rows that may fail?' });
    await dialog.waitFor();
    assert.match(await dialog.innerText(), /CompanyName → QB_Active__c: May fail/);
    await assertAccessible(page, 'may-fail confirmation');
    await screenshot(page, 'field-mapping-may-fail-confirmation');
    await dialog.getByRole('button', { name: 'Review the rows' }).click();
    const active = async () =>
        (await records('QB_Field_Mapping__c')).find((f) => f.Salesforce_Field__c === 'QB_Active__c')
            .QB_Field__c;
    assert.equal(await active(), 'Active', 'nothing was saved');

    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await dialog.getByRole('button', { name: 'Save anyway' }).click();
    await page.waitForFunction(() =>
        (window.__previewToasts || []).some((t) => t.title === 'Field mappings saved')
    );
    assert.equal(await active(), 'CompanyName');
});

test('Field Mapping: Add field is one Tab from the picker; the row it adds takes focus', async () => {
    await seedMapping(companyId, 'Customer', ACCOUNT_FIELDS);
    const { table } = await openFieldMapping();
    const rowCount = await table.locator('tbody tr').count();
    await page.getByRole('combobox', { name: 'Object mapping' }).focus();
    const add = page.getByRole('button', { name: 'Add field' });
    const focused = (locator) => locator.evaluate((node) => node === node.getRootNode().activeElement);
    // It took 81 Tabs when Add field came after every row's five controls.
    let tabs = 0;
    while (!(await focused(add))) {
        assert.ok(tabs < 5, `Add field is not reached after ${tabs} Tabs`);
        await page.keyboard.press('Tab');
        tabs += 1;
    }
    assert.equal(tabs, 1, 'Tabs from the object mapping picker to Add field');

    await page.keyboard.press('Enter');
    const added = page.getByRole('combobox', { name: `QuickBooks field, row ${rowCount + 1}` });
    await added.waitFor();
    assert.ok(await focused(added), "focus is in the new row's QuickBooks field");
    await assertAccessible(page, 'field mapping with a new row');
});

test('Object Mapping: New moves focus into the form; a new mapping offers Map fields now', async () => {
    await openQbSetup(page);
    await navigateTo(page, 'Object Mapping');
    const newButton = page.getByRole('button', { name: 'New', exact: true });
    await newButton.focus();
    await page.keyboard.press('Enter');
    const qbObject = page.getByRole('combobox', { name: 'QuickBooks object' });
    await qbObject.waitFor();
    // Tabs from New to the form's first field: none, focus is already there.
    let tabs = 0;
    while (!(await qbObject.evaluate((input) => input === input.getRootNode().activeElement))) {
        assert.ok(tabs < 3, `focus is not in the form after ${tabs} Tabs`);
        await page.keyboard.press('Tab');
        tabs += 1;
    }
    assert.equal(tabs, 0);

    await choose(page, 'QuickBooks object', /^Vendor$/);
    await page.getByRole('combobox', { name: 'Salesforce object' }).click();
    const offered = await page.getByRole('option').allInnerTexts();
    assert.ok(offered.some((o) => o.includes('(QB_Transaction__c)')), 'its target objects are offered');
    for (const own of ['QB_Company__c', 'QB_Object_Mapping__c', 'QB_Field_Mapping__c', 'QB_Sync_Log__c']) {
        assert.ok(!offered.some((o) => o.includes(`(${own})`)), `${own} is not offered`);
    }
    await page.getByRole('option', { name: 'Account (Account)' }).click();
    await choose(page, 'External id field', /QB_External_Id__c/);
    await assertAccessible(page, 'object mapping form');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Map fields now' }).click();
    await page.getByRole('heading', { name: 'Field Mapping' }).waitFor();
    assert.match(
        await page.getByRole('combobox', { name: 'Object mapping' }).innerText(),
        /Vendor → Account/
    );
    assert.deepEqual(browser.pageErrors, []);
});
