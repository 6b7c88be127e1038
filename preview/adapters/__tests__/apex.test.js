import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { apexMethod } from '../apex.js';
import { configureTransport } from '../transport.js';
import { reduceErrors } from '../../../force-app/main/default/lwc/ldsUtils/ldsUtils.js';
import { startServer, until } from './server.js';

let server;

before(async () => {
    server = await startServer({
        'POST /apex/QBSetupController/getObjectMappings': async (body) => [
            200,
            [{ Id: 'a01', QB_Object__c: 'Customer', companyId: body.companyId }]
        ],
        'POST /apex/QBSetupController/saveObjectMapping': async () => [
            400,
            {
                message: 'Customer is already mapped for this company.',
                exceptionType: 'System.AuraHandledException'
            }
        ],
        'POST /apex/QBSetupController/deleteObjectMapping': async () => [200, 'null'],
        'POST /apex/QBSetupController/getCompanies': async () => [502, 'Bad gateway']
    });
    configureTransport({ baseUrl: server.baseUrl });
});

after(async () => {
    configureTransport();
    await server.close();
});

test('posts the named parameters and resolves the JSON result', async () => {
    const getObjectMappings = apexMethod('QBSetupController', 'getObjectMappings');
    const result = await getObjectMappings({ companyId: 'a00X' });
    assert.deepEqual(result, [{ Id: 'a01', QB_Object__c: 'Customer', companyId: 'a00X' }]);
    const sent = server.requests.at(-1);
    assert.equal(sent.url, '/apex/QBSetupController/getObjectMappings');
    assert.equal(sent.headers['content-type'], 'application/json');
    assert.deepEqual(sent.body, { companyId: 'a00X' });
});

test('a method without parameters sends an empty object; void resolves null', async () => {
    const deleteObjectMapping = apexMethod('QBSetupController', 'deleteObjectMapping');
    assert.equal(await deleteObjectMapping(), null);
    assert.deepEqual(server.requests.at(-1).body, {});
});

test('a refused call rejects with an Apex-shaped error reduceErrors reads', async () => {
    const saveObjectMapping = apexMethod('QBSetupController', 'saveObjectMapping');
    await assert.rejects(saveObjectMapping({ mapping: {} }), (error) => {
        assert.equal(error.status, 400);
        assert.equal(error.ok, false);
        assert.equal(error.body.message, 'Customer is already mapped for this company.');
        assert.deepEqual(reduceErrors(error), ['Customer is already mapped for this company.']);
        return true;
    });
});

test('a non-JSON error body becomes {message}', async () => {
    const getCompanies = apexMethod('QBSetupController', 'getCompanies');
    await assert.rejects(getCompanies(), (error) => {
        assert.equal(error.status, 502);
        assert.deepEqual(error.body, { message: 'Bad gateway' });
        return true;
    });
});

test('an unreachable server rejects with status 0 and says so', async () => {
    configureTransport({ baseUrl: 'http://127.0.0.1:9/' });
    try {
        const getCompanies = apexMethod('QBSetupController', 'getCompanies');
        await assert.rejects(getCompanies(), (error) => {
            assert.equal(error.status, 0);
            assert.match(error.body.message, /cannot be reached/);
            return true;
        });
    } finally {
        configureTransport({ baseUrl: server.baseUrl });
    }
});

test('as a wire adapter it emits {data} for the config, and {error} on failure', async () => {
    const getObjectMappings = apexMethod('QBSetupController', 'getObjectMappings');
    const emitted = [];
    const wire = new getObjectMappings.adapter((value) => emitted.push(value));
    wire.update({ companyId: 'a00Y' });
    wire.connect();
    await until(() => emitted.length === 1);
    assert.deepEqual(emitted[0], {
        data: [{ Id: 'a01', QB_Object__c: 'Customer', companyId: 'a00Y' }],
        error: undefined
    });

    const getCompanies = apexMethod('QBSetupController', 'getCompanies');
    const failures = [];
    const failing = new getCompanies.adapter((value) => failures.push(value));
    failing.connect();
    failing.update({});
    await until(() => failures.length === 1);
    assert.equal(failures[0].data, undefined);
    assert.equal(failures[0].error.status, 502);
});
