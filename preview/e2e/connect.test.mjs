/**
 * Step 1 of the setup through the real sandbox (tests/preview/test_browser_connect.py): on a
 * sandbox with no company connected yet, the admin clicks Connect to QuickBooks; the consent
 * window runs the real OAuth flow (the QuickBooks emulator's consent page, then the
 * middleware's callback), and the card shows Connected without a page reload. Then the admin
 * disconnects, confirming in the LightningConfirm dialog, and the card shows Disconnected.
 *
 * Extra environment: QBO_URL (QuickBooks emulator), MIDDLEWARE_URL, REALM_ID, COMPANY_NAME.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    assertAccessible,
    openBrowser,
    openQbSetup,
    records,
    screenshot,
    toasts
} from '../tests/support.mjs';

const { QBO_URL, MIDDLEWARE_URL, REALM_ID, COMPANY_NAME } = process.env;
const CALLBACK_PATH = '/oauth/quickbooks/callback';
let browser;
let page;
let card;

before(async () => {
    assert.ok(
        QBO_URL && MIDDLEWARE_URL && REALM_ID && COMPANY_NAME,
        'QBO_URL, MIDDLEWARE_URL, REALM_ID and COMPANY_NAME are set by test_browser_connect.py'
    );
    browser = await openBrowser();
    page = browser.page;
    card = page.locator('c-qb-connection-card');
});

after(async () => {
    await browser?.close();
});

function status() {
    return card.locator('[data-id="status"]');
}

async function companyRecords() {
    return (await records('QB_Company__c')).filter(
        (r) => r.Realm_Id__c === REALM_ID
    );
}

/**
 * What the middleware's callback page shows, read inside the consent window as the page is
 * parsed: the card closes the window as soon as the page's script reports success, too soon
 * to read it from here afterwards. The observer sees the page's script element before it runs
 * (the parser performs a microtask checkpoint before running a script), when the heading and
 * the message above it are complete.
 */
async function callbackPageShown(context) {
    let shown;
    const reported = new Promise((resolve) => {
        shown = resolve;
    });
    await context.exposeBinding('__qbsyncCallbackPage', (source, page) =>
        shown(page)
    );
    await context.addInitScript((callbackPath) => {
        if (window.location.pathname !== callbackPath) {
            return;
        }
        const observer = new MutationObserver(() => {
            if (document.querySelector('body script')) {
                observer.disconnect();
                window.__qbsyncCallbackPage({
                    heading: document.querySelector('h1')?.textContent,
                    message: document.getElementById('message')?.textContent
                });
            }
        });
        observer.observe(document, { childList: true, subtree: true });
    }, CALLBACK_PATH);
    return reported;
}

test('a sandbox with no company connected shows Not connected', async () => {
    await openQbSetup(page);
    await status().getByText('Not connected', { exact: true }).waitFor();
    await card.locator('[data-id="not-connected"]').waitFor();
    assert.equal(
        await card
            .getByRole('button', { name: 'Setup', exact: true })
            .isDisabled(),
        true
    );
    assert.deepEqual(await companyRecords(), []);
    await screenshot(page, 'connect-before');
    await assertAccessible(page, 'connection card (not connected)');
});

test('Connect to QuickBooks runs the OAuth flow in a popup; the card shows Connected', async () => {
    // Marks this document: it must still be the same one (no reload) when the card updates.
    await page.evaluate(() => {
        window.__beforeConnect = true;
    });
    const context = page.context();
    const popupOpened = context.waitForEvent('page');
    const callbackResponse = context.waitForEvent(
        'response',
        (response) =>
            response.url().split('?')[0] === `${MIDDLEWARE_URL}${CALLBACK_PATH}`
    );
    const callbackPage = callbackPageShown(context);
    await card
        .getByRole('button', { name: 'Connect to QuickBooks', exact: true })
        .click();
    const popup = await popupOpened;
    popup.setDefaultTimeout(10000);
    const closed = popup.waitForEvent('close');
    assert.equal(
        await popup.opener(),
        page,
        'the consent window was opened by the QB Setup tab'
    );

    const callback = await callbackResponse;
    assert.equal(
        callback.status(),
        200,
        `callback answered ${callback.status()}`
    );
    assert.equal(
        callback.frame().page(),
        popup,
        'the callback page loaded in the consent window'
    );
    const query = new URL(callback.url()).searchParams;
    assert.equal(query.get('realmId'), REALM_ID);
    assert.ok(
        query.get('code') && query.get('state'),
        'code and state in the callback'
    );
    // The hop before: the QuickBooks emulator's consent page, redirecting back at once.
    const consent = callback.request().redirectedFrom();
    assert.ok(
        consent,
        'the callback was reached through a redirect from the consent page'
    );
    const authorize = new URL(consent.url());
    assert.equal(
        `${authorize.origin}${authorize.pathname}`,
        `${QBO_URL}/connect/oauth2`
    );
    assert.equal(
        authorize.searchParams.get('scope'),
        'com.intuit.quickbooks.accounting'
    );
    assert.equal(authorize.searchParams.get('state'), query.get('state'));
    assert.equal(
        authorize.searchParams.get('redirect_uri'),
        `${MIDDLEWARE_URL}${CALLBACK_PATH}`
    );
    assert.deepEqual(await callbackPage, {
        heading: 'QuickBooks connected',
        message: `${COMPANY_NAME} (realm ${REALM_ID}) is connected. You can close this window.`
    });

    // qbsync:connected reached the card, which closed the window itself.
    await closed;

    await status().getByText('Connected', { exact: true }).waitFor();
    assert.equal(
        (await card.locator('[data-id="name"]').innerText()).trim(),
        COMPANY_NAME
    );
    assert.equal(
        (await card.locator('[data-id="realm"]').innerText()).trim(),
        REALM_ID
    );
    assert.equal(
        (await card.locator('[data-id="environment"]').innerText()).trim(),
        'sandbox'
    );
    assert.equal(await card.locator('[data-id="waiting"]').count(), 0);
    assert.equal(await card.locator('[data-id="error"]').count(), 0);
    assert.equal(
        await card
            .getByRole('button', { name: 'Setup', exact: true })
            .isEnabled(),
        true
    );
    assert.equal(
        await page.evaluate(() => window.__beforeConnect),
        true,
        'the page was reloaded'
    );

    // The same company can be re-authorized from its own card, without "Connect another company".
    assert.equal(
        await card
            .getByRole('button', { name: 'Reconnect', exact: true })
            .isEnabled(),
        true
    );
    assert.equal(await card.locator('[data-id="renewed"]').count(), 1);
    assert.deepEqual(
        (await toasts(page)).map((toast) => [toast.title, toast.variant]),
        [['QuickBooks connected', 'success']]
    );

    const [company] = await companyRecords();
    assert.equal(company?.Status__c, 'Connected');
    assert.equal(company.Name, COMPANY_NAME);
    // The pointer still rests on the Connect button, which would show its hover state.
    await page.mouse.move(0, 0);
    await screenshot(page, 'connect-after');
    await assertAccessible(page, 'connection card (connected through OAuth)');
});

test('Disconnect: Cancel keeps the company; OK disconnects it', async () => {
    const dialog = page.getByRole('alertdialog', {
        name: 'Disconnect QuickBooks company'
    });

    await card.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await dialog.waitFor();
    assert.match(
        await dialog.innerText(),
        new RegExp(`Disconnect ${COMPANY_NAME} \\(realm ${REALM_ID}\\)\\?`)
    );
    // The dialog fades in; the screenshot shows it once it is in place.
    await page.evaluate(() =>
        Promise.all(document.getAnimations().map((a) => a.finished))
    );
    await screenshot(page, 'disconnect-confirm');
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await status().innerText()).trim(), 'Connected');
    assert.equal((await companyRecords())[0].Status__c, 'Connected');

    await card.getByRole('button', { name: 'Disconnect', exact: true }).click();
    await dialog.getByRole('button', { name: 'OK', exact: true }).click();
    await dialog.waitFor({ state: 'detached' });
    await status().getByText('Disconnected', { exact: true }).waitFor();
    assert.equal(
        (await card.locator('[data-id="realm"]').innerText()).trim(),
        REALM_ID
    );
    // A disconnected company can be connected again, and not disconnected twice.
    await card
        .getByRole('button', { name: 'Reconnect', exact: true })
        .waitFor();
    assert.equal(await card.locator('[data-id="disconnect"]').count(), 0);
    const [disconnected] = await companyRecords();
    assert.equal(disconnected.Status__c, 'Disconnected');
    // The revoked tokens' dates are gone from the record and from the card.
    assert.equal(disconnected.Refresh_Token_Expires_At__c ?? null, null);
    assert.equal(disconnected.Renewed_At__c ?? null, null);
    assert.equal(await card.locator('[data-id="refresh-expires"]').count(), 0);
    assert.equal(await card.locator('[data-id="renewed"]').count(), 0);
    assert.equal((await toasts(page)).at(-1).title, 'QuickBooks disconnected');
    assert.equal(
        await page.evaluate(() => window.__beforeConnect),
        true,
        'the page was reloaded'
    );
    await assertAccessible(page, 'connection card (disconnected)');
    assert.deepEqual(browser.pageErrors, []);
});
