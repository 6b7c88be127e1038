/**
 * What the browser tests share: Debian's Chromium driven by playwright-core,
 * the Salesforce emulator's admin and REST API for seeding and checking
 * records, screenshots and the axe-core check.
 *
 * Environment (set by tests/preview/test_browser.py):
 *   PREVIEW_URL     the preview server (the QB Setup tab at /)
 *   SALESFORCE_URL  the Salesforce emulator (its CA in NODE_EXTRA_CA_CERTS)
 *   SALESFORCE_ADMIN_USERNAME  the org's admin (QuickBooks_Sync_Admin), whom the preview runs as
 *   SCREENSHOT_DIR  where screenshots go (docs/screenshots for ./scripts/screenshots)
 *   CHROMIUM        the browser binary (default /usr/bin/chromium)
 */
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

function required(name) {
    const value = process.env[name];
    if (!value) {
        throw new Error(
            `${name} is not set: run the browser tests through tests/preview/test_browser.py`
        );
    }
    return value.replace(/\/$/, '');
}

export const PREVIEW_URL = required('PREVIEW_URL');
export const SALESFORCE_URL = required('SALESFORCE_URL');
const ADMIN_USERNAME = required('SALESFORCE_ADMIN_USERNAME');
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || path.join(os.tmpdir(), 'qbsync-screens');
const API = `${SALESFORCE_URL}/services/data/v66.0`;

export const COMPANY = {
    Name: 'Sandbox Company US',
    Realm_Id__c: '9341455130166501',
    Status__c: 'Connected',
    Environment__c: 'sandbox',
    Connected_At__c: '2026-11-20T10:00:00.000+0000',
    Refresh_Token_Expires_At__c: '2027-02-28T10:00:00.000+0000',
    Refresh_Token_Hard_Expires_At__c: '2031-11-20T10:00:00.000+0000',
    Last_Event_At__c: '2026-11-24T09:30:00.000+0000'
};

// ../shared/research/salesforce.md §8: how Debian's Chromium runs headless here.
const CHROMIUM_ARGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync'
];

/** A fresh Chromium profile and page; `close()` removes the profile. */
export async function openBrowser() {
    const profile = await mkdtemp(path.join(os.tmpdir(), 'qbsync-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        // A common desktop width; at 1440 px the Field Mapping table overflows its card.
        viewport: { width: 1600, height: 900 },
        locale: 'en-US',
        timezoneId: 'UTC'
    });
    const page = context.pages()[0] ?? (await context.newPage());
    // Every step here takes well under a second; fail fast instead of after 30 s.
    page.setDefaultTimeout(10000);
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    return {
        page,
        pageErrors,
        async close() {
            await context.close();
            await rm(profile, { recursive: true, force: true });
        }
    };
}

async function call(method, url, body) {
    const response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    if (!response.ok) {
        throw new Error(`${method} ${url}: ${response.status} ${text}`);
    }
    return text ? JSON.parse(text) : null;
}

/** A clean org with one connected QuickBooks company; returns its Id. */
export async function resetOrg() {
    await call('DELETE', `${SALESFORCE_URL}/_admin/records`);
    const [companyId] = await seed('QB_Company__c', COMPANY);
    return companyId;
}

export async function seed(sobject, records) {
    return (await call('POST', `${SALESFORCE_URL}/_admin/records/${sobject}`, records)).ids;
}

export async function records(sobject) {
    return (await call('GET', `${SALESFORCE_URL}/_admin/records/${sobject}`)).records;
}

/** Deletes records through the REST API as another admin would (with the admin's permissions). */
export async function deleteRecords(ids) {
    const session = `${SALESFORCE_URL}/_admin/session?username=${encodeURIComponent(ADMIN_USERNAME)}`;
    const { access_token: token } = await call('POST', session);
    const response = await fetch(`${API}/composite/sobjects?ids=${ids.join(',')}&allOrNone=true`, {
        method: 'DELETE',
        headers: { Authorization: `Bearer ${token}` }
    });
    assert.equal(response.status, 200, await response.text());
}

/** An object mapping and its field mappings, stored directly (a prior session's setup). */
export async function seedMapping(companyId, qbObject, fields, extra = {}) {
    const [mappingId] = await seed('QB_Object_Mapping__c', {
        Company__c: companyId,
        QB_Object__c: qbObject,
        Salesforce_Object__c: 'Account',
        External_Id_Field__c: 'QB_External_Id__c',
        Delete_Behavior__c: 'Deactivate',
        Company_Object_Key__c: `${companyId}:${qbObject}`,
        ...extra
    });
    const fieldIds = fields.length
        ? await seed(
              'QB_Field_Mapping__c',
              fields.map(([qbField, salesforceField]) => ({
                  Object_Mapping__c: mappingId,
                  QB_Field__c: qbField,
                  Salesforce_Field__c: salesforceField
              }))
          )
        : [];
    return { mappingId, fieldIds };
}

export async function openQbSetup(page) {
    await page.goto(`${PREVIEW_URL}/`);
    await page.getByRole('heading', { name: 'QuickBooks connection' }).waitFor();
}

/** Opens a pane from the left vertical navigation. */
export async function navigateTo(page, label) {
    await page.locator('lightning-vertical-navigation').getByRole('link', { name: label, exact: true }).click();
}

/** Picks `option` in the lightning-combobox labelled `label` (a string or RegExp). */
export async function choose(page, label, option, scope = page) {
    await scope.getByRole('combobox', { name: label }).click();
    await scope.getByRole('option', { name: option }).click();
}

export async function screenshot(page, name) {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, `${name}.png`);
    // The save bar docks at the bottom of the window (position: sticky); a full-page capture
    // has no window bottom and drew it across the middle of the pane: here it stays in place.
    const undock = await page.addStyleTag({ content: 'c-qb-save-bar { position: static !important; }' });
    await page.screenshot({ path: file, fullPage: true });
    await undock.evaluate((style) => style.remove());
    return file;
}

let axeSource;

/** Runs axe-core on the page; fails on any serious or critical violation, naming each. */
export async function assertAccessible(page, screen) {
    axeSource ??= await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
    if (!(await page.evaluate(() => Boolean(window.axe)))) {
        await page.addScriptTag({ content: axeSource });
    }
    const violations = await page.evaluate(async () => {
        const result = await window.axe.run(document, { resultTypes: ['violations'] });
        return result.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)
        }));
    });
    const blocking = violations.filter((v) => ['serious', 'critical'].includes(v.impact));
    assert.deepEqual(
        blocking,
        [],
        `${screen}: serious or critical accessibility violations:\n${JSON.stringify(blocking, null, 2)}`
    );
    return violations;
}

/** Closes the toasts on screen (they would cover the next screen's header). */
export async function dismissToasts(page) {
    for (const close of await page.locator('[data-id="toasts"] button[title="Close"]').all()) {
        await close.click();
    }
}

/** The toasts the page has shown (src/toasts.js records them). */
export async function toasts(page) {
    return page.evaluate(() => window.__previewToasts || []);
}
