// The consent window as `window.open` returns it. Under Locker it is a restricted proxy: reading
// from it or closing it may throw, and the card must go on either way.

/** True once the admin closed the window; false while open or when the proxy will not say. */
export function isClosed(popup) {
    try {
        return popup?.closed === true;
        // PMD's JavaScript parser cannot read a catch without its binding.
        // eslint-disable-next-line no-unused-vars
    } catch (error) {
        return false;
    }
}

/** Closes the window if the browser lets the card; otherwise the admin closes it. */
export function closeQuietly(popup) {
    try {
        popup?.close();
        // eslint-disable-next-line no-unused-vars
    } catch (error) {
        // The outcome is on the card already.
    }
}
