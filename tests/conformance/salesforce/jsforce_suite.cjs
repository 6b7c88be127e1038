// jsforce (a Salesforce client we did not write) against the running Salesforce emulator.
//
// Run by tests/conformance/salesforce/test_jsforce.py, which starts the emulator and passes:
//   SF_BASE_URL, SF_CLIENT_ID, SF_USERNAME, SF_KEY_FILE (the connected app's RS256 key)
// and NODE_EXTRA_CA_CERTS (the emulator's CA: the one patch that points jsforce at 127.0.0.1).
// Each check drives jsforce's public API and compares what jsforce hands back with the REST API
// Developer Guide's documented results. Prints one JSON line: {"passed": [...], "failed": [...]}.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const assert = require('node:assert/strict');
const jsforce = require('jsforce');

const BASE_URL = process.env.SF_BASE_URL;
const CLIENT_ID = process.env.SF_CLIENT_ID;
const USERNAME = process.env.SF_USERNAME;
const KEY = fs.readFileSync(process.env.SF_KEY_FILE, 'utf8');
const VERSION = '66.0';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function base64url(value) {
    return Buffer.from(value).toString('base64url');
}

// The JWT bearer assertion a jsforce user signs (jsforce has no signer of its own).
function assertion() {
    const header = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT' }));
    const claims = base64url(
        JSON.stringify({
            iss: CLIENT_ID,
            sub: USERNAME,
            aud: BASE_URL,
            exp: Math.floor(Date.now() / 1000) + 180
        })
    );
    const signature = crypto
        .sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), KEY)
        .toString('base64url');
    return `${header}.${claims}.${signature}`;
}

async function rejection(promise) {
    try {
        await promise;
    } catch (error) {
        return error;
    }
    throw new assert.AssertionError({ message: 'expected the call to fail' });
}

const checks = [];
function check(name, run) {
    checks.push({ name, run });
}

const state = {};

check('JWT bearer login: authorize() answers the user and org ids', async () => {
    const conn = new jsforce.Connection({ loginUrl: BASE_URL, version: VERSION });
    const user = await conn.authorize({ grant_type: JWT_GRANT, assertion: assertion() });
    assert.match(user.id, /^005\w{15}$/);
    assert.match(user.organizationId, /^00D\w{15}$/);
    assert.equal(conn.instanceUrl, BASE_URL);
    assert.ok(conn.accessToken);
    state.conn = conn;
    state.user = user;
});

check('a refused JWT is an invalid_grant error', async () => {
    const conn = new jsforce.Connection({ loginUrl: BASE_URL, version: VERSION });
    const error = await rejection(
        conn.authorize({ grant_type: JWT_GRANT, assertion: 'not.a.jwt' })
    );
    assert.equal(error.name, 'invalid_grant');
});

check('identity() reads the identity URL returned with the token', async () => {
    const identity = await state.conn.identity();
    assert.equal(identity.username, USERNAME);
    assert.equal(identity.user_id, state.user.id);
    assert.equal(identity.organization_id, state.user.organizationId);
});

check('versions: GET /services/data lists the API version in use', async () => {
    const versions = await state.conn.request('/services/data');
    assert.ok(versions.some((v) => v.version === VERSION));
});

check('create, retrieve, update and destroy one record', async () => {
    const accounts = state.conn.sobject('Account');
    const created = await accounts.create({ Name: 'jsforce single', BillingCity: 'Oslo' });
    assert.deepEqual(
        { success: created.success, errors: created.errors },
        { success: true, errors: [] }
    );
    const read = await accounts.retrieve(created.id);
    assert.equal(read.Name, 'jsforce single');
    assert.equal(read.BillingAddress.city, 'Oslo');
    const updated = await accounts.update({ Id: created.id, Name: 'jsforce renamed' });
    assert.equal(updated.success, true);
    assert.equal((await accounts.retrieve(created.id, { fields: ['Name'] })).Name, 'jsforce renamed');
    const destroyed = await accounts.destroy(created.id);
    assert.equal(destroyed.success, true);
    const gone = await rejection(accounts.retrieve(created.id));
    assert.equal(gone.errorCode, 'ENTITY_IS_DELETED');
});

check('upsert one record by external id: created, then updated', async () => {
    const products = state.conn.sobject('Product2');
    const first = await products.upsert({ Name: 'Widget', QB_External_Id__c: 'js-Item-1' }, 'QB_External_Id__c');
    assert.deepEqual([first.success, first.created], [true, true]);
    const second = await products.upsert({ Name: 'Widget 2', QB_External_Id__c: 'js-Item-1' }, 'QB_External_Id__c');
    assert.deepEqual([second.success, second.created, second.id], [true, false, first.id]);
});

check('collections create: results in order, per-record errors with statusCode', async () => {
    const results = await state.conn
        .sobject('Account')
        .create([{ Name: 'bulk A' }, { Name: '' }, { Name: 'bulk B' }]);
    assert.deepEqual(
        results.map((r) => r.success),
        [true, false, true]
    );
    assert.equal(results[1].errors[0].statusCode, 'REQUIRED_FIELD_MISSING');
    assert.deepEqual(results[1].errors[0].fields, ['Name']);
    state.bulk = [results[0].id, results[2].id];
});

check('collections create with allOrNone rolls back the valid records', async () => {
    const results = await state.conn
        .sobject('Account')
        .create([{ Name: 'kept?' }, { Name: '' }], { allOrNone: true });
    assert.deepEqual(
        results.map((r) => r.success),
        [false, false]
    );
    assert.equal(results[0].errors[0].statusCode, 'ALL_OR_NONE_OPERATION_ROLLED_BACK');
    const count = await state.conn.sobject('Account').count({ Name: 'kept?' });
    assert.equal(count, 0);
});

check('collections update (jsforce sends a lower-case "id")', async () => {
    const [a, b] = state.bulk;
    const results = await state.conn.sobject('Account').update([
        { Id: a, Phone: '111' },
        { Id: b, NumberOfEmployees: 12 },
        { Id: '001000000000000AAA', Name: 'nobody' }
    ]);
    assert.deepEqual(
        results.map((r) => r.success),
        [true, true, false]
    );
    assert.equal(results[2].errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
    const read = await state.conn.sobject('Account').retrieve([a, b]);
    assert.deepEqual(
        read.map((r) => [r.Phone, r.NumberOfEmployees]),
        [
            ['111', null],
            [null, 12]
        ]
    );
});

check('collections retrieve: one entry per id, null for an unknown id', async () => {
    const [a] = state.bulk;
    const read = await state.conn
        .sobject('Account')
        .retrieve([a, '001000000000000AAA'], { fields: ['Name'] });
    assert.equal(read[0].Name, 'bulk A');
    assert.equal(read[1], null);
});

check('collections upsert: created flags and a duplicate key in one request', async () => {
    const products = state.conn.sobject('Product2');
    const results = await products.upsert(
        [
            { Name: 'Gadget', QB_External_Id__c: 'js-Item-2' },
            { Name: 'Widget 3', QB_External_Id__c: 'js-Item-1' }
        ],
        'QB_External_Id__c'
    );
    assert.deepEqual(
        results.map((r) => [r.success, r.created]),
        [
            [true, true],
            [true, false]
        ]
    );
    const duplicate = await products.upsert(
        [
            { Name: 'x', QB_External_Id__c: 'js-Item-3' },
            { Name: 'y', QB_External_Id__c: 'js-Item-3' }
        ],
        'QB_External_Id__c'
    );
    assert.deepEqual(
        duplicate.map((r) => r.errors[0].statusCode),
        ['DUPLICATE_EXTERNAL_ID', 'DUPLICATE_EXTERNAL_ID']
    );
});

check('collections delete: per-record error for an unknown id', async () => {
    const [a, b] = state.bulk;
    const results = await state.conn.sobject('Account').destroy([a, b, '001000000000000AAA']);
    assert.deepEqual(
        results.map((r) => r.success),
        [true, true, false]
    );
    assert.equal(results[2].errors[0].statusCode, 'INVALID_CROSS_REFERENCE_KEY');
});

check('2,200 records created in chunks of 200 (allowRecursive)', async () => {
    const records = Array.from({ length: 2200 }, (_, i) => ({
        LastName: `Page ${String(i).padStart(4, '0')}`
    }));
    const results = await state.conn
        .sobject('Contact')
        .create(records, { allowRecursive: true });
    assert.equal(results.length, 2200);
    assert.ok(results.every((r) => r.success));
});

check('SOQL paging: autoFetch follows nextRecordsUrl across batches', async () => {
    const first = await state.conn.query('SELECT Id, LastName FROM Contact ORDER BY LastName');
    assert.equal(first.totalSize, 2200);
    assert.equal(first.done, false);
    assert.equal(first.records.length, 2000);
    const more = await state.conn.queryMore(first.nextRecordsUrl);
    assert.equal(more.done, true);
    assert.equal(more.records[more.records.length - 1].LastName, 'Page 2199');
    const all = await state.conn
        .query('SELECT Id FROM Contact')
        .run({ autoFetch: true, maxFetch: 5000 });
    assert.equal(all.records.length, 2200);
});

check('SOQL with parent and child relationships', async () => {
    const account = await state.conn.sobject('Account').create({ Name: 'Parent Co' });
    await state.conn.sobject('Contact').create([
        { LastName: 'Kid 1', AccountId: account.id },
        { LastName: 'Kid 2', AccountId: account.id }
    ]);
    const children = await state.conn.query(
        "SELECT LastName, Account.Name, Account.Owner.Username FROM Contact WHERE Account.Name = 'Parent Co' ORDER BY LastName"
    );
    assert.deepEqual(
        children.records.map((r) => [r.LastName, r.Account.Name, r.Account.Owner.Username]),
        [
            ['Kid 1', 'Parent Co', USERNAME],
            ['Kid 2', 'Parent Co', USERNAME]
        ]
    );
    const parents = await state.conn.query(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account WHERE Name = 'Parent Co'"
    );
    assert.deepEqual(
        parents.records[0].Contacts.records.map((r) => r.LastName),
        ['Kid 1', 'Kid 2']
    );
});

check('find() and count() build SOQL the emulator runs', async () => {
    const found = await state.conn
        .sobject('Contact')
        .find({ LastName: { $like: 'Kid%' } }, ['Id', 'LastName'])
        .sort({ LastName: -1 })
        .limit(1);
    assert.deepEqual(
        found.map((r) => r.LastName),
        ['Kid 2']
    );
    assert.equal(await state.conn.sobject('Contact').count({ LastName: { $like: 'Kid%' } }), 2);
});

check('COUNT(Id) answers an AggregateResult row', async () => {
    const result = await state.conn.query('SELECT COUNT(Id) total FROM Contact');
    assert.equal(result.records[0].total, 2202);
});

check('describeGlobal and describe', async () => {
    const global = await state.conn.describeGlobal();
    assert.ok(global.sobjects.some((o) => o.name === 'QB_Company__c'));
    const described = await state.conn.sobject('Account').describe();
    const names = described.fields.map((f) => f.name);
    assert.ok(names.includes('QB_External_Id__c'));
    assert.equal(described.recordTypeInfos[0].master, true);
    const address = described.fields.find((f) => f.name === 'BillingAddress');
    assert.equal(address.type, 'address');
});

check("select('*') expands to every described field, compound ones included", async () => {
    const rows = await state.conn
        .sobject('Account')
        .select('*')
        .where({ Name: 'Parent Co' })
        .execute();
    assert.equal(rows.length, 1);
    assert.equal(rows[0].Name, 'Parent Co');
    assert.ok('BillingAddress' in rows[0] && 'QB_External_Id__c' in rows[0]);
});

check('Sforce-Limit-Info is read into limitInfo', async () => {
    await state.conn.query('SELECT Id FROM Account LIMIT 1');
    const usage = state.conn.limitInfo.apiUsage;
    assert.ok(usage.used > 0 && usage.limit === 15000);
});

check('limits() reads DailyApiRequests', async () => {
    const limits = await state.conn.limits();
    assert.ok(limits.DailyApiRequests.Max > 0);
    assert.ok(limits.DailyApiRequests.Remaining < limits.DailyApiRequests.Max);
});

check('updated() and deleted() list changes in a window', async () => {
    const start = new Date(Date.now() - 5 * 60 * 1000);
    const end = new Date(Date.now() + 5 * 60 * 1000);
    const updated = await state.conn.sobject('Account').updated(start, end);
    assert.ok(updated.ids.length >= 1);
    const deleted = await state.conn.sobject('Account').deleted(start, end);
    assert.ok(deleted.deletedRecords.length >= 2);
});

check('error bodies: MALFORMED_QUERY, INVALID_FIELD, NOT_FOUND, INVALID_SESSION_ID', async () => {
    const malformed = await rejection(state.conn.query('SELECT FROM Account'));
    assert.equal(malformed.errorCode, 'MALFORMED_QUERY');
    const field = await rejection(state.conn.query('SELECT Nope__c FROM Account'));
    assert.equal(field.errorCode, 'INVALID_FIELD');
    assert.match(field.message, /No such column 'Nope__c' on entity 'Account'/);
    const write = await rejection(state.conn.sobject('Account').create({ Name: 'x', Nope__c: 1 }));
    assert.equal(write.errorCode, 'INVALID_FIELD');
    const missing = await rejection(state.conn.sobject('No_Such__c').describe());
    assert.equal(missing.errorCode, 'NOT_FOUND');
    const stale = new jsforce.Connection({
        instanceUrl: BASE_URL,
        accessToken: 'stale-token',
        version: VERSION
    });
    const session = await rejection(stale.query('SELECT Id FROM Account'));
    assert.equal(session.errorCode, 'INVALID_SESSION_ID');
});

check('a required field on a single create is REQUIRED_FIELD_MISSING', async () => {
    const error = await rejection(state.conn.sobject('Contact').create({ FirstName: 'No last' }));
    assert.equal(error.errorCode, 'REQUIRED_FIELD_MISSING');
    assert.deepEqual(error.data.fields, ['LastName']);
});

check('bulk2.loadAndWaitForResults: a Bulk API 2.0 insert job and its result CSVs', async () => {
    const results = await state.conn.bulk2.loadAndWaitForResults({
        object: 'Account',
        operation: 'insert',
        input: [
            { Name: 'Bulk One', Phone: '555-0101' },
            { Name: 'Bulk Two', Phone: '555-0102' },
            { Name: '', Phone: '555-0103' }
        ],
        pollInterval: 50,
        pollTimeout: 30000
    });
    assert.equal(results.successfulResults.length, 2);
    for (const row of results.successfulResults) {
        assert.match(row.sf__Id, /^001\w{15}$/);
        assert.equal(String(row.sf__Created), 'true');
    }
    assert.equal(results.failedResults.length, 1);
    assert.match(results.failedResults[0].sf__Error, /^REQUIRED_FIELD_MISSING/);
    assert.deepEqual(results.unprocessedRecords, []);
});

// Streaming API (Change Data Capture over CometD): jsforce's faye client, long polling, with
// its replay extension (Streaming API Developer Guide; Change Data Capture Developer Guide).
const SYNC_LOG_CHANNEL = '/data/QB_Sync_Log__ChangeEvent';

function within(promise, ms, what) {
    let timer;
    return Promise.race([
        promise,
        new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
        })
    ]).finally(() => clearTimeout(timer));
}

async function streamingClient(replayId) {
    // jsforce registers its Streaming API on the connection when this module loads.
    const { StreamingExtension } = require('jsforce/lib/api/streaming');
    const replay = new StreamingExtension.Replay(SYNC_LOG_CHANNEL, replayId);
    const client = state.conn.streaming.createClient([replay]);
    const messages = [];
    let arrived;
    const first = new Promise((resolve) => {
        arrived = resolve;
    });
    const subscription = client.subscribe(SYNC_LOG_CHANNEL, (message) => {
        messages.push(message);
        arrived(message);
    });
    await within(subscription, 20000, 'subscription');
    return { client, messages, first };
}

check('Streaming API: a new sync log reaches a faye subscriber as a CREATE change event', async () => {
    const { client, first } = await streamingClient(-1);
    try {
        const company = await state.conn
            .sobject('QB_Company__c')
            .create({ Name: 'Streaming Co', Realm_Id__c: '9130350000000001' });
        const log = await state.conn
            .sobject('QB_Sync_Log__c')
            .create({ Company__c: company.id, Status__c: 'Success', QB_Object__c: 'Customer' });
        const message = await within(first, 20000, 'change event');
        const header = message.payload.ChangeEventHeader;
        assert.equal(header.entityName, 'QB_Sync_Log__c');
        assert.equal(header.changeType, 'CREATE');
        assert.deepEqual(header.recordIds, [log.id]);
        assert.equal(message.payload.Status__c, 'Success');
        assert.ok(message.event.replayId > 0);
        state.syncLog = log.id;
    } finally {
        client.disconnect();
    }
});

check('Streaming API: replay -2 delivers the retained events to a new subscriber', async () => {
    const { client, first } = await streamingClient(-2);
    try {
        const message = await within(first, 20000, 'retained event');
        assert.deepEqual(message.payload.ChangeEventHeader.recordIds, [state.syncLog]);
    } finally {
        client.disconnect();
    }
});

async function main() {
    const passed = [];
    const failed = [];
    for (const { name, run } of checks) {
        try {
            await run();
            passed.push(name);
        } catch (error) {
            failed.push({ name, error: `${error.name}: ${error.message}` });
        }
    }
    process.stdout.write(`${JSON.stringify({ passed, failed })}\n`);
}

main().catch((error) => {
    process.stderr.write(`${error.stack}\n`);
    process.exitCode = 1;
});
