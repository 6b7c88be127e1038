/**
 * Historical sync end to end through the real sandbox (tests/preview/test_browser_backfill.py):
 * QuickBooks holds Customers from before the connection (no webhooks), Salesforce holds Accounts
 * typed in by hand: one of the same name as a Customer, two of another. The admin maps the
 * objects, starts "Sync existing records" for Customer matching by name, watches the job in QB
 * Setup's Historical sync panel until it is done (the screenshot docs/screenshots/
 * backfill-progress.png), and links the Customer the rules could not decide to one of its two
 * Accounts in the review list.
 *
 * Extra environment: REALM_ID, BACKFILL_CUSTOMERS (how many Customers the driver created),
 * TWIN_NAME (the Customer with two same-name Accounts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    dismissToasts,
    navigateTo,
    openBrowser,
    openQbSetup,
    SALESFORCE_URL,
    screenshot,
    toasts
} from '../tests/support.mjs';

const REALM_ID = process.env.REALM_ID;
const CUSTOMERS = Number(process.env.BACKFILL_CUSTOMERS);
const TWIN = process.env.TWIN_NAME;
let browser;
let page;

before(async () => {
    assert.ok(REALM_ID && CUSTOMERS && TWIN, 'set by test_browser_backfill.py');
    browser = await openBrowser();
    page = browser.page;
});

after(async () => {
    await browser?.close();
});

async function query(q) {
    const response = await fetch(`${SALESFORCE_URL}/_admin/query`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ q })
    });
    return (await response.json()).records;
}

test('the admin starts Sync existing records for Customer, matching by name', async () => {
    await openQbSetup(page);
    await page.getByRole('button', { name: 'Setup', exact: true }).click();
    await page.getByRole('button', { name: 'Use recommended mappings' }).click();
    const customer = page
        .getByRole('table', { name: 'Object mappings' })
        .locator('tr[data-row="Customer"]');
    // Creating every recommended mapping is a few dozen Apex calls: more than the default 10 s
    // on a loaded machine.
    await customer.waitFor({ timeout: 60000 });
    await dismissToasts(page);
    await customer.getByRole('button', { name: 'Sync existing Customer records' }).click();
    const dialog = page.getByRole('dialog', {
        name: 'Sync existing Customer records to Account'
    });
    await dialog.getByText('Same name', { exact: true }).click();
    await assertAccessible(page, 'sync existing records dialog');
    await dialog.getByRole('button', { name: 'Start' }).click();
    await page.waitForFunction(() =>
        window.__previewToasts.some((t) => t.title === 'Syncing existing Customer records')
    );
    const [mapping] = await query(
        "SELECT Match_Rules__c FROM QB_Object_Mapping__c WHERE QB_Object__c = 'Customer'"
    );
    assert.equal(mapping.Match_Rules__c, 'Name');
});

test('Setup shows the job progress until it is done, with the counts', async () => {
    await dismissToasts(page);
    await navigateTo(page, 'Setup');
    const panel = page.locator('c-qb-sync-jobs');
    const job = panel.locator('li[data-job]').first();
    await job.waitFor({ timeout: 30000 });
    assert.equal(
        (await job.innerText()).split('\n')[0].trim(),
        'Customer → Account',
        'the job names its objects'
    );
    // The panel polls every 3 s while the job runs; the page never reloads.
    await job.locator('lightning-badge', { hasText: 'Done' }).waitFor({ timeout: 120000 });
    const counts = (await job.locator('[data-cell="counts"]').innerText()).trim();
    // Every Customer is processed: one linked by name, one left for review, the rest created.
    assert.match(counts, new RegExp(`^${CUSTOMERS} of ${CUSTOMERS} · `));
    assert.match(counts, new RegExp(`${CUSTOMERS - 2} created`));
    assert.match(counts, /1 matched, 1 to review, 0 failed/);
    assert.equal(await job.getByRole('button', { name: 'Cancel' }).count(), 0);
    const reviews = page.getByRole('table', { name: 'Matches to review' });
    await reviews.waitFor();
    await page.getByRole('heading', { name: 'Matches to review (1)' }).waitFor();
    await assertAccessible(page, 'historical sync panel');
    await screenshot(page, 'backfill-progress');
});

test('the admin links the undecided Customer to one of its two Accounts', async () => {
    // SOQL compares names case-insensitively: both Accounts typed in as the Customer's name.
    const twins = await query(`SELECT Id, Name FROM Account WHERE Name = '${TWIN}'`);
    assert.equal(twins.length, 2);
    const reviews = page.getByRole('table', { name: 'Matches to review' });
    // The two differ only in case: pick the option by its exact text.
    await reviews.getByRole('combobox', { name: `Existing Account for ${TWIN}` }).click();
    await reviews.getByRole('option', { name: twins[1].Name, exact: true }).click();
    await reviews.getByRole('button', { name: 'Link' }).click();
    await reviews.waitFor({ state: 'detached' });
    const linked = (await toasts(page)).find((t) => t.title === `${TWIN} linked`);
    assert.ok(linked, 'a toast says the record was linked');
    const [chosen] = await query(`SELECT QB_External_Id__c FROM Account WHERE Id = '${twins[1].Id}'`);
    assert.match(chosen.QB_External_Id__c, new RegExp(`^${REALM_ID}-Customer-`));
    const [other] = await query(`SELECT QB_External_Id__c FROM Account WHERE Id = '${twins[0].Id}'`);
    assert.equal(other.QB_External_Id__c ?? null, null);
    assert.deepEqual(browser.pageErrors, []);
});
