import { createServer } from 'node:http';

/**
 * A throw-away HTTP server on 127.0.0.1 answering from `routes`
 * ("METHOD /path" → (body) => [status, json]); records every request.
 */
export async function startServer(routes) {
    const requests = [];
    const server = createServer(async (req, res) => {
        let raw = '';
        for await (const chunk of req) {
            raw += chunk;
        }
        const body = raw ? JSON.parse(raw) : undefined;
        requests.push({ method: req.method, url: req.url, body, headers: req.headers });
        const route = routes[`${req.method} ${req.url}`];
        const [status, payload] = route ? await route(body) : [404, { message: 'no route' }];
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address();
    return {
        baseUrl: `http://127.0.0.1:${port}/`,
        requests,
        close: () => new Promise((resolve) => server.close(resolve))
    };
}

/** Resolves once `predicate()` is truthy (polling), or rejects after `ms`. */
export async function until(predicate, ms = 2000) {
    const deadline = Date.now() + ms;
    while (!predicate()) {
        if (Date.now() > deadline) {
            throw new Error('condition not met in time');
        }
        // eslint-disable-next-line no-await-in-loop
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
}
