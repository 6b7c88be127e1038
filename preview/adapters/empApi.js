/**
 * `lightning/empApi` for the preview: a Bayeux (CometD) long-polling client of the Streaming API
 * endpoint `/cometd/<version>`, which the preview server forwards to the Salesforce emulator with
 * the admin's session, as Lightning Experience does for a component on its own domain.
 *
 * The module's contract (Lightning Component Library, lightning-emp-api): `subscribe(channel,
 * replayId, onMessageCallback)` resolves a subscription `{ id, channel, replayId }` once the
 * server confirmed it and calls the callback with each event message `{ channel, data: { schema,
 * payload, event: { replayId } } }`; `unsubscribe(subscription, callback)` resolves true;
 * `onError(callback)` receives the server's error messages; `isEmpEnabled()` resolves true;
 * `setDebugFlag(flag)` logs the traffic. One client serves every subscription of the page: it
 * handshakes on the first subscribe, keeps one connect pending while anything is subscribed, and
 * disconnects after the last unsubscribe. A server that forgets the client (`403::Unknown client`,
 * advice reconnect "handshake") gets a new handshake and the subscriptions again, each from the
 * last replay id it delivered, so no event in between is lost.
 */
import { requestJson } from './transport.js';

const API_VERSION = '66.0';
const ENDPOINT = `/cometd/${API_VERSION}`;
// After a failed request the client waits before trying again (the advice's interval is 0, but
// a dead server must not be hammered).
const RETRY_MS = 1000;

let clientId;
let handshaking;
let connecting = false;
let debug = false;
let nextId = 1;
let nextSubscription = 1;
const subscriptions = new Map(); // id → { channel, replayId, callback }
const errorListeners = new Set();

function log(...args) {
    if (debug) {
        // eslint-disable-next-line no-console
        console.log('[empApi]', ...args);
    }
}

function reportError(message) {
    errorListeners.forEach((listener) => {
        try {
            listener(message);
        } catch (error) {
            log('error listener failed', error);
        }
    });
}

async function send(messages) {
    const stamped = messages.map((message) => ({
        ...message,
        id: String(nextId++)
    }));
    log('send', stamped);
    try {
        return await requestJson('POST', ENDPOINT, stamped);
    } catch (error) {
        // A 401 answer carries the Bayeux replies too (handshake denied).
        if (Array.isArray(error.body)) {
            return error.body;
        }
        throw error;
    }
}

function reply(replies, channel) {
    return (replies || []).find((message) => message.channel === channel);
}

async function handshake() {
    if (!handshaking) {
        handshaking = (async () => {
            const answer = reply(
                await send([
                    {
                        channel: '/meta/handshake',
                        version: '1.0',
                        supportedConnectionTypes: ['long-polling'],
                        ext: { replay: true }
                    }
                ]),
                '/meta/handshake'
            );
            if (!answer?.successful) {
                reportError(answer || { error: 'handshake failed' });
                throw new Error(answer?.error || 'CometD handshake failed');
            }
            clientId = answer.clientId;
            return clientId;
        })().finally(() => {
            handshaking = undefined;
        });
    }
    return handshaking;
}

async function sendSubscribe(entry) {
    const answer = reply(
        await send([
            {
                channel: '/meta/subscribe',
                clientId,
                subscription: entry.channel,
                ext: { replay: { [entry.channel]: entry.replayId } }
            }
        ]),
        '/meta/subscribe'
    );
    if (!answer?.successful) {
        reportError(answer || { error: 'subscribe failed' });
        throw new Error(answer?.error || `cannot subscribe to ${entry.channel}`);
    }
}

function deliver(message) {
    const replayId = message.data?.event?.replayId;
    subscriptions.forEach((entry) => {
        if (entry.channel !== message.channel) {
            return;
        }
        if (replayId !== undefined) {
            // A resubscription after a new handshake starts after the last event delivered.
            entry.replayId = replayId;
        }
        try {
            entry.callback(message);
        } catch (error) {
            log('message callback failed', error);
        }
    });
}

async function rejoin() {
    clientId = undefined;
    await handshake();
    for (const entry of subscriptions.values()) {
        // eslint-disable-next-line no-await-in-loop
        await sendSubscribe(entry);
    }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps one /meta/connect pending while anything is subscribed. */
async function connectLoop() {
    if (connecting) {
        return;
    }
    connecting = true;
    try {
        while (subscriptions.size && clientId) {
            let replies;
            try {
                // eslint-disable-next-line no-await-in-loop
                replies = await send([
                    {
                        channel: '/meta/connect',
                        clientId,
                        connectionType: 'long-polling'
                    }
                ]);
            } catch (error) {
                reportError({ error: error.body?.message || String(error) });
                // eslint-disable-next-line no-await-in-loop
                await pause(RETRY_MS);
                continue;
            }
            (replies || [])
                .filter((message) => !message.channel.startsWith('/meta/'))
                .forEach(deliver);
            const answer = reply(replies, '/meta/connect');
            if (answer && !answer.successful && subscriptions.size) {
                if (answer.advice?.reconnect === 'handshake') {
                    try {
                        // eslint-disable-next-line no-await-in-loop
                        await rejoin();
                    } catch (error) {
                        // eslint-disable-next-line no-await-in-loop
                        await pause(RETRY_MS);
                    }
                } else {
                    reportError(answer);
                    if (answer.advice?.reconnect === 'none') {
                        break;
                    }
                    // eslint-disable-next-line no-await-in-loop
                    await pause(RETRY_MS);
                }
            }
        }
    } finally {
        connecting = false;
    }
}

export async function subscribe(channel, replayId, onMessageCallback) {
    const entry = {
        channel,
        replayId: replayId ?? -1,
        callback: onMessageCallback
    };
    if (!clientId) {
        await handshake();
    }
    await sendSubscribe(entry);
    const id = String(nextSubscription++);
    subscriptions.set(id, entry);
    connectLoop();
    return { id, channel, replayId: entry.replayId };
}

export async function unsubscribe(subscription, callback) {
    const entry = subscriptions.get(subscription?.id);
    subscriptions.delete(subscription?.id);
    let answer = { successful: true, subscription: subscription?.channel };
    const stillWanted = [...subscriptions.values()].some(
        (other) => other.channel === entry?.channel
    );
    if (entry && clientId && !stillWanted) {
        answer = reply(
            await send([
                {
                    channel: '/meta/unsubscribe',
                    clientId,
                    subscription: entry.channel
                }
            ]),
            '/meta/unsubscribe'
        );
    }
    if (!subscriptions.size && clientId) {
        const leaving = clientId;
        clientId = undefined;
        await send([{ channel: '/meta/disconnect', clientId: leaving }]);
    }
    if (callback) {
        callback(answer);
    }
    return Boolean(answer?.successful);
}

export function onError(callback) {
    errorListeners.add(callback);
    return Promise.resolve();
}

export function setDebugFlag(flag) {
    debug = Boolean(flag);
    return Promise.resolve();
}

export function isEmpEnabled() {
    return Promise.resolve(true);
}
