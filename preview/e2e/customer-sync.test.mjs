/**
 * End to end through the real sandbox (tests/preview/test_browser_e2e.py):
 * the company was connected through the middleware's OAuth flow; the admin
 * maps objects in QB Setup, enables Customer, saves, and a Customer created
 * in the QuickBooks emulator arrives in Salesforce as an Account. A field
 * mapping the admin then removes from the enabled Customer applies to the
 * next Customer at once: the save notifies the middleware, which drops its
 * cached configuration (otherwise kept for QBSYNC_CONFIG_TTL_SECONDS, 60 s).
 *
 * Extra environment: QBO_URL (QuickBooks emulator), REALM_ID, COMPANY_NAME.
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
    SALESFORCE_URL,
    screenshot
} from '../tests/support.mjs';

const QBO_URL = process.env.QBO_URL;
const REALM_ID = process.env.REALM_ID;
let browser;
let page;

before(async () => {
    assert.ok(QBO_URL && REALM_ID, 'QBO_URL and REALM_ID are set by test_browser_e2e.py');
    browser = await openBrowser();
    page = browser.page;
});

after(async () => {
    await browser?.close();
});

async function createCustomer(body) {
    const created = await fetch(`${QBO_URL}/_admin/companies/${REALM_ID}/Customer`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
    });
    assert.equal(created.status, 201, await created.clone().text());
    return created.json();
}

/** The Accounts of a QuickBooks Customer, once it has arrived (at most `seconds` later). */
async function arrivedAccounts(customer, seconds) {
    const key = `${REALM_ID}-Customer-${customer.Id}`;
    const deadline = Date.now() + seconds * 1000;
    let accounts = [];
    while (accounts.length === 0 && Date.now() < deadline) {
        // eslint-disable-next-line no-await-in-loop
        accounts = await accountsWithKey(key);
        if (accounts.length === 0) {
            // eslint-disable-next-line no-await-in-loop
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }
    assert.equal(accounts.length, 1, `no Account with QB_External_Id__c ${key} after ${seconds} s`);
    return accounts;
}

async function accountsWithKey(key) {
    const response = await fetch(`${SALESFORCE_URL}/_admin/query`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
            q: `SELECT Id, Name, Phone FROM Account WHERE QB_External_Id__c = '${key}'`
        })
    });
    return (await response.json()).records;
}

test('the company connected through OAuth is shown as Connected', async () => {
    await openQbSetup(page);
    const card = page.locator('c-qb-connection-card');
    await card.getByText('Connected', { exact: true }).waitFor();
    assert.equal((await card.locator('[data-id="realm"]').innerText()).trim(), REALM_ID);
    assert.equal(
        (await card.locator('[data-id="name"]').innerText()).trim(),
        process.env.COMPANY_NAME
    );
});

test('Setup, recommended mappings, enable Customer, Save', async () => {
    await page.getByRole('button', { name: 'Setup', exact: true }).click();
    await page.getByRole('button', { name: 'Use recommended mappings' }).click();
    await page
        .getByRole('table', { name: 'Object mappings' })
        .locator('tr[data-row="Vendor"]')
        .waitFor();
    await dismissToasts(page);
    await navigateTo(page, 'Real-Time Configuration');
    const customer = page.locator('tr[data-row="Customer"]');
    await customer.locator('[data-cell="status"]', { hasText: 'Ready' }).waitFor();
    await customer
        .getByRole('switch', { name: 'Real-time sync for Customer' })
        .check({ force: true });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    // The toast means the save is done; the save bar then says when the middleware took it.
    await page.waitForFunction(() =>
        window.__previewToasts.some((t) => t.title === 'Real-time configuration saved')
    );
    await customer.locator('[data-cell="status"]', { hasText: 'Enabled' }).waitFor();
    await page
        .locator('[data-id="live-status"]', { hasText: /^Saved\. Live in the middleware at / })
        .waitFor();
    await assertAccessible(page, 'real-time configuration (sandbox)');
});

test('a Customer created in QuickBooks arrives as an Account', async () => {
    const customer = await createCustomer({
        DisplayName: 'Preview Browser Customer',
        PrimaryPhone: { FreeFormNumber: '(555) 010-2030' }
    });
    const accounts = await arrivedAccounts(customer, 30);
    assert.equal(accounts[0].Name, 'Preview Browser Customer');
    assert.ok(accounts[0].Phone, 'the recommended mappings map the phone number');
    await screenshot(page, 'sandbox-realtime-configuration');
    assert.deepEqual(browser.pageErrors, []);
});

test('a field mapping removed from the enabled Customer applies to the next Customer at once', async () => {
    await dismissToasts(page);
    await navigateTo(page, 'Field Mapping');
    await page.getByRole('heading', { name: 'Field Mapping' }).waitFor();
    await choose(page, 'Object mapping', 'Customer → Account');
    const phoneRow = page.locator('tbody tr', {
        has: page.getByRole('combobox', { name: /^QuickBooks field, row/ }).filter({
            hasText: 'PrimaryPhone.FreeFormNumber'
        })
    });
    await phoneRow.getByRole('button', { name: /^Remove row/ }).click();
    await phoneRow.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForFunction(() =>
        window.__previewToasts.some((t) => t.title === 'Field mappings saved')
    );
    await page
        .locator('[data-id="live-status"]', { hasText: /^Saved\. Live in the middleware at / })
        .waitFor();

    // The worker cached the configuration for the first Customer moments ago: only the
    // notification makes it read the field mappings again within the next minute.
    const customer = await createCustomer({
        DisplayName: 'Preview Browser Customer Without Phone',
        PrimaryPhone: { FreeFormNumber: '(555) 010-4050' }
    });
    const accounts = await arrivedAccounts(customer, 30);
    assert.equal(accounts[0].Name, 'Preview Browser Customer Without Phone');
    assert.equal(accounts[0].Phone ?? null, null, 'the phone number is no longer mapped');
    assert.deepEqual(browser.pageErrors, []);
});
