/**
 * JSON over HTTP to the preview server, with failures shaped as Lightning
 * components meet them: a rejected Apex call or UI API request carries
 * `{ status, statusText, ok: false, body: { message, ... } }`, which
 * `c/ldsUtils.reduceErrors` reads (body.message, or body as an array).
 */

let baseUrl;

/** Where requests go; the page's own origin unless set (node tests set it). */
export function configureTransport(options = {}) {
    baseUrl = options.baseUrl;
}

function urlOf(path) {
    const base = baseUrl ?? globalThis.location?.href;
    return base ? new URL(path, base).href : path;
}

/** The error a component receives when the server refuses or cannot be reached. */
export function fetchError(status, statusText, body) {
    return {
        status,
        statusText,
        ok: false,
        headers: {},
        body
    };
}

async function parsedBody(response) {
    const text = await response.text();
    if (!text) {
        return null;
    }
    try {
        return JSON.parse(text);
    } catch {
        return { message: text };
    }
}

/**
 * Sends a request and resolves the JSON body of a 2xx answer; rejects with
 * `fetchError(...)` otherwise (the body as the server sent it, or
 * `{message}` when it was not JSON or the server was unreachable).
 */
export async function requestJson(method, path, payload) {
    let response;
    try {
        response = await fetch(urlOf(path), {
            method,
            headers:
                payload === undefined
                    ? { Accept: 'application/json' }
                    : {
                          Accept: 'application/json',
                          'Content-Type': 'application/json'
                      },
            body: payload === undefined ? undefined : JSON.stringify(payload)
        });
    } catch (error) {
        throw fetchError(0, 'Network error', {
            message: `The preview server cannot be reached: ${error.message}`
        });
    }
    const body = await parsedBody(response);
    if (!response.ok) {
        throw fetchError(
            response.status,
            response.statusText,
            body ?? { message: `HTTP ${response.status}` }
        );
    }
    return body;
}
