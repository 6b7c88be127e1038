/**
 * Reduces one or more errors into a list of messages a person can read.
 * Handles the shapes Lightning components meet: UI API / LDS errors (body is an
 * array or has pageErrors, fieldErrors, output.errors), Apex errors
 * (AuraHandledException: body.message), JavaScript errors and plain strings.
 * @param {FetchResponse|FetchResponse[]|Error|string} errors
 * @return {String[]} messages, empty when there is nothing to show
 */
export function reduceErrors(errors) {
    const list = Array.isArray(errors) ? errors : [errors];
    return list
        .filter((error) => error !== undefined && error !== null)
        .flatMap(messagesOf)
        .filter((message) => typeof message === 'string' && message !== '');
}

function messagesOf(error) {
    if (typeof error === 'string') {
        return [error];
    }
    const body = error.body;
    if (Array.isArray(body)) {
        return body.map((entry) => entry.message);
    }
    if (body) {
        const pageAndFieldErrors = [
            ...(body.pageErrors || []),
            ...Object.values(body.fieldErrors || {}).flat(),
            ...(body.output?.errors || []),
            ...Object.values(body.output?.fieldErrors || {}).flat()
        ].map((entry) => entry.message);
        if (pageAndFieldErrors.length > 0) {
            return pageAndFieldErrors;
        }
        if (typeof body.message === 'string') {
            return [body.message];
        }
    }
    if (typeof error.message === 'string') {
        return [error.message];
    }
    return [error.statusText || 'Unknown error'];
}
