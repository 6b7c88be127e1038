const DAY_MS = 24 * 60 * 60 * 1000;
// Reconnecting takes an admin and a browser, so warn well before the refresh token
// lapses (rolling 100 days, hard limit five years: research/quickbooks.md).
export const EXPIRY_WARNING_DAYS = 30;

/**
 * The warning a connected company's card shows about its refresh token, or undefined.
 * The token lapses at the earlier of its rolling and its hard expiry (ISO date-times;
 * either may be missing); `now` is epoch milliseconds.
 */
export function expiryWarning(refreshExpiresAt, hardExpiresAt, now) {
    const times = [refreshExpiresAt, hardExpiresAt]
        .filter(Boolean)
        .map((value) => new Date(value).getTime());
    if (!times.length) {
        return undefined;
    }
    const daysLeft = Math.floor((Math.min(...times) - now) / DAY_MS);
    if (daysLeft < 0) {
        return 'The QuickBooks refresh token has expired. Reconnect the company.';
    }
    if (daysLeft <= EXPIRY_WARNING_DAYS) {
        return `The QuickBooks refresh token expires in ${daysLeft} day${
            daysLeft === 1 ? '' : 's'
        }. Reconnect the company before then.`;
    }
    return undefined;
}
