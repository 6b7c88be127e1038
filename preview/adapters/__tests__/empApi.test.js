import { test, after, before, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe, onError, isEmpEnabled } from '../empApi.js';
import { configureTransport } from '../transport.js';
import { startServer, until } from './server.js';

/**
 * A scripted Bayeux server: handshakes hand out client ids, subscribes are confirmed or refused,
 * connects answer from a queue (one entry per connect; a connect with nothing queued waits for
 * `push`), as the Salesforce emulator's /cometd/66.0 does.
 */
const CHANNEL = '/data/QB_Sync_Log__ChangeEvent';
let server;
let handshakes = 0;
let refuse;
let forgetClient = false;
let waiting = [];
const queued = [];

function push(replies) {
    const next = waiting.shift();
    if (next) {
        next(replies);
    } else {
        queued.push(replies);
    }
}

function event(replayId, name) {
    return {
        channel: CHANNEL,
        data: {
            schema: 'x',
            payload: { ChangeEventHeader: { changeType: 'CREATE' }, Record_Name__c: name },
            event: { replayId }
        }
    };
}

async function bayeux(messages) {
    const replies = [];
    for (const message of messages) {
        const base = { channel: message.channel, id: message.id };
        if (message.channel === '/meta/handshake') {
            handshakes += 1;
            replies.push({ ...base, successful: true, clientId: `c${handshakes}` });
        } else if (message.channel === '/meta/subscribe') {
            replies.push(
                refuse
                    ? { ...base, successful: false, error: refuse }
                    : { ...base, successful: true, subscription: message.subscription }
            );
        } else if (message.channel === '/meta/connect') {
            if (forgetClient) {
                forgetClient = false;
                replies.push({
                    ...base,
                    successful: false,
                    error: '403::Unknown client',
                    advice: { reconnect: 'handshake' }
                });
                continue;
            }
            // eslint-disable-next-line no-await-in-loop
            const events = queued.length
                ? queued.shift()
                : await new Promise((resolve) => waiting.push(resolve));
            replies.push(...events, { ...base, successful: true });
        } else {
            replies.push({ ...base, successful: true });
        }
    }
    return [200, replies];
}

before(async () => {
    server = await startServer({ 'POST /cometd/66.0': bayeux });
    configureTransport({ baseUrl: server.baseUrl });
});

beforeEach(() => {
    refuse = undefined;
    server.requests.length = 0;
});

after(async () => {
    // Release any connect still held, then stop.
    waiting.forEach((resolve) => resolve([]));
    waiting = [];
    configureTransport();
    await server.close();
});

const sent = (channel) =>
    server.requests.flatMap((request) => request.body).filter((m) => m.channel === channel);

test('empApi is enabled', async () => {
    assert.equal(await isEmpEnabled(), true);
});

test('subscribes with the replay extension, delivers events and unsubscribes', async () => {
    const received = [];
    const subscription = await subscribe(CHANNEL, -1, (message) => received.push(message));
    assert.equal(subscription.channel, CHANNEL);
    assert.equal(subscription.replayId, -1);
    const [handshake] = sent('/meta/handshake');
    assert.deepEqual(handshake.supportedConnectionTypes, ['long-polling']);
    const [subscribeMessage] = sent('/meta/subscribe');
    assert.equal(subscribeMessage.clientId, 'c1');
    assert.deepEqual(subscribeMessage.ext, { replay: { [CHANNEL]: -1 } });

    push([event(5, 'Amy')]);
    await until(() => received.length === 1);
    assert.equal(received[0].data.payload.Record_Name__c, 'Amy');
    assert.equal(received[0].data.event.replayId, 5);

    let answered;
    const done = await unsubscribe(subscription, (answer) => {
        answered = answer;
    });
    assert.equal(done, true);
    assert.equal(answered.successful, true);
    assert.equal(sent('/meta/unsubscribe')[0].subscription, CHANNEL);
    assert.equal(sent('/meta/disconnect').length, 1);
    push([]); // ends the connect still held
});

test('a refused subscription rejects and reaches onError', async () => {
    const errors = [];
    onError((error) => errors.push(error));
    refuse = '403::Not allowed to subscribe';
    await assert.rejects(subscribe(CHANNEL, -1, () => {}), /Not allowed/);
    assert.equal(errors.at(-1).error, '403::Not allowed to subscribe');
});

test('a forgotten client handshakes again and resubscribes after the last event', async () => {
    const received = [];
    const subscription = await subscribe(CHANNEL, -1, (message) => received.push(message));
    push([event(8, 'Bill')]);
    await until(() => received.length === 1);
    const before = handshakes;
    forgetClient = true;
    push([]); // the held connect ends; the next one meets the unknown-client answer
    await until(() => handshakes === before + 1);
    await until(() =>
        sent('/meta/subscribe').some((m) => m.ext.replay[CHANNEL] === 8)
    );
    push([event(9, 'Cara')]);
    await until(() => received.length === 2);
    assert.equal(received[1].data.payload.Record_Name__c, 'Cara');
    await unsubscribe(subscription);
    push([]);
});
