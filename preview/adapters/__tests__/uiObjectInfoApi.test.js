import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { getObjectInfo } from '../uiObjectInfoApi.js';
import { configureTransport } from '../transport.js';
import { startServer, until } from './server.js';

const ACCOUNT = {
    apiName: 'Account',
    label: 'Account',
    keyPrefix: '001',
    fields: {
        Name: { apiName: 'Name', label: 'Account Name', dataType: 'String', required: true }
    }
};
let server;

before(async () => {
    server = await startServer({
        'GET /ui-api/object-info/Account': async () => [200, ACCOUNT],
        'GET /ui-api/object-info/Product2': async () => [
            200,
            { apiName: 'Product2', label: 'Product', fields: {} }
        ],
        'GET /ui-api/object-info/Nope__c': async () => [
            404,
            [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]
        ]
    });
    configureTransport({ baseUrl: server.baseUrl });
});

after(async () => {
    configureTransport();
    await server.close();
});

function wired() {
    const emitted = [];
    const adapter = new getObjectInfo((value) => emitted.push(value));
    return { adapter, emitted };
}

test('emits the ObjectInfo for objectApiName once connected', async () => {
    const { adapter, emitted } = wired();
    adapter.update({ objectApiName: 'Account' });
    assert.equal(server.requests.length, 0, 'nothing is fetched before connect');
    adapter.connect();
    await until(() => emitted.length === 1);
    assert.deepEqual(emitted[0], { data: ACCOUNT, error: undefined });
});

test('accepts a @salesforce/schema object reference', async () => {
    const { adapter, emitted } = wired();
    adapter.connect();
    adapter.update({ objectApiName: { objectApiName: 'Product2' } });
    await until(() => emitted.length === 1);
    assert.equal(emitted[0].data.apiName, 'Product2');
});

test('an undefined objectApiName emits nothing and fetches nothing', async () => {
    const { adapter, emitted } = wired();
    const before = server.requests.length;
    adapter.connect();
    adapter.update({ objectApiName: undefined });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, before);
    assert.deepEqual(emitted, []);
});

test('an unknown object emits {error} with the UI API body', async () => {
    const { adapter, emitted } = wired();
    adapter.connect();
    adapter.update({ objectApiName: 'Nope__c' });
    await until(() => emitted.length === 1);
    assert.equal(emitted[0].data, undefined);
    assert.equal(emitted[0].error.status, 404);
    assert.equal(emitted[0].error.body[0].errorCode, 'NOT_FOUND');
});

test('a superseded answer is dropped: only the latest object is emitted', async () => {
    const { adapter, emitted } = wired();
    adapter.connect();
    adapter.update({ objectApiName: 'Account' });
    adapter.update({ objectApiName: 'Product2' });
    await until(() => emitted.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(
        emitted.map((value) => value.data.apiName),
        ['Product2']
    );
});

test('nothing is emitted after disconnect', async () => {
    const { adapter, emitted } = wired();
    adapter.connect();
    adapter.update({ objectApiName: 'Account' });
    adapter.disconnect();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(emitted, []);
});
