/**
 * Live activity on QB Setup (issue 18 item 1): the health strip and the feed of the latest syncs
 * update when the middleware writes a sync log, without a reload. The page subscribes to the
 * sync log's change events with lightning/empApi (the preview's adapter speaks CometD to the
 * Salesforce emulator through the preview server); the log is written over the REST API as the
 * middleware's integration user writes it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    SALESFORCE_URL,
    assertAccessible,
    openBrowser,
    openQbSetup,
    resetOrg,
    screenshot,
    seed
} from './support.mjs';

const INTEGRATION_USERNAME = 'integration@qbsync.example';

let browser;
let page;
let companyId;

async function writeSyncLog(values) {
    const session = await fetch(
        `${SALESFORCE_URL}/_admin/session?username=${encodeURIComponent(INTEGRATION_USERNAME)}`,
        { method: 'POST' }
    );
    const { access_token: token } = await session.json();
    const response = await fetch(`${SALESFORCE_URL}/services/data/v66.0/sobjects/QB_Sync_Log__c`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ Company__c: companyId, ...values })
    });
    const text = await response.text();
    assert.equal(response.status, 201, text);
    return JSON.parse(text).id;
}

const now = () => new Date().toISOString();
const ago = (ms) => new Date(Date.now() - ms).toISOString();

before(async () => {
    companyId = await resetOrg();
    const [accountId] = await seed('Account', { Name: "Amy's Bird Sanctuary" });
    await writeSyncLog({
        Event_Key__c: 'ce:Customer:1:Update',
        QB_Object__c: 'Customer',
        QB_Record_Id__c: '1',
        Record_Name__c: "Amy's Bird Sanctuary",
        Operation__c: 'Update',
        Status__c: 'Success',
        Salesforce_Object__c: 'Account',
        Salesforce_Record_Id__c: accountId,
        Event_Time__c: ago(60000),
        Synced_At__c: ago(59200),
        Latency_Ms__c: 800
    });
    browser = await openBrowser();
    page = browser.page;
});

after(async () => {
    await browser?.close();
});

test('the health strip and the feed show the company as it is', async () => {
    await openQbSetup(page);
    const strip = page.locator('c-qb-health-strip');
    await strip.getByRole('heading', { name: 'Sync health' }).waitFor();
    const feed = page.locator('c-qb-live-feed');
    await feed.getByRole('link', { name: "Amy's Bird Sanctuary" }).waitFor();
    // The subscription is confirmed: the feed says it is live.
    await feed.locator('[data-id="live"]').waitFor();
    assert.equal((await strip.locator('[data-id="open-failed"]').innerText()).trim(), '0 failures');
    assert.notEqual((await strip.locator('[data-id="last-success"]').innerText()).includes('None yet'), true);
    assert.match(await feed.locator('[data-id="delay"]').first().innerText(), /0\.8 s after the QuickBooks change/);
    // The preview runs without a middleware: the backlog says why it is unknown.
    assert.match(await strip.locator('[data-id="backlog"]').innerText(), /Unknown/);
});

test('a sync log written in Salesforce appears in the feed and the strip without reload', async () => {
    const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    await writeSyncLog({
        Event_Key__c: 'ce:Invoice:130:Create',
        QB_Object__c: 'Invoice',
        QB_Record_Id__c: '130',
        Record_Name__c: 'Invoice 1037',
        Operation__c: 'Create',
        Status__c: 'Failed',
        Message__c: 'Invoice 1037 could not be written: the field mapping TotalAmt → Amount__c needs a number.',
        Event_Time__c: ago(2400),
        Synced_At__c: now(),
        Latency_Ms__c: 2400
    });
    const feed = page.locator('c-qb-live-feed');
    await feed.locator('[data-id="feed-row"]', { hasText: 'Invoice 1037' }).waitFor();
    const names = await feed.locator('[data-id="feed-row"] [data-id="record-name"], [data-id="feed-row"] a').allInnerTexts();
    assert.deepEqual(names, ['Invoice 1037', "Amy's Bird Sanctuary"]);
    const strip = page.locator('c-qb-health-strip');
    await strip.locator('[data-id="open-failed"]', { hasText: '1 failure' }).waitFor();
    const counts = await strip.locator('[data-id="object-count"]').allInnerTexts();
    assert.deepEqual(
        counts.map((row) => row.split(/\s+/).join(' ')),
        ['Customer 1 0 0', 'Invoice 0 1 0']
    );
    // Same document: the page was not reloaded.
    assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), navigations);
    await assertAccessible(page, 'health strip and live feed');
    await screenshot(page, 'health-strip');
});

test('Failures open the Failed list view; a record opens in Salesforce', async () => {
    await page.locator('c-qb-health-strip [data-id="open-failed"]').click();
    const failed = await page.evaluate(() => window.__previewNavigations.at(-1).pageReference);
    assert.deepEqual(failed.state, { filterName: 'Failed' });
    assert.equal(failed.attributes.objectApiName, 'QB_Sync_Log__c');
    await page.locator('c-qb-live-feed').getByRole('link', { name: "Amy's Bird Sanctuary" }).click();
    const record = await page.evaluate(() => window.__previewNavigations.at(-1).pageReference);
    assert.equal(record.type, 'standard__recordPage');
    assert.equal(record.attributes.objectApiName, 'Account');
});

test('Test connection shows the answer in plain words', async () => {
    await page.locator('c-qb-health-strip').getByRole('button', { name: 'Test connection' }).click();
    const result = page.locator('c-qb-health-strip [data-id="test-result"]');
    await result.waitFor();
    // No middleware behind this preview: the same message an org shows without one.
    assert.match(await result.innerText(), /The sync middleware could not be reached/);
});
