import { EXPIRY_WARNING_DAYS, expiryWarning } from '../tokenExpiry';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const inDays = (days) =>
    new Date(NOW + days * 24 * 60 * 60 * 1000).toISOString();

describe('expiryWarning', () => {
    it('says nothing without expiry dates', () => {
        expect(expiryWarning(undefined, null, NOW)).toBeUndefined();
    });

    it('says nothing while the token has more than the warning period left', () => {
        expect(
            expiryWarning(inDays(EXPIRY_WARNING_DAYS + 1), undefined, NOW)
        ).toBeUndefined();
    });

    it('counts the days left on the last day of the warning period', () => {
        expect(expiryWarning(inDays(EXPIRY_WARNING_DAYS), undefined, NOW)).toBe(
            `The QuickBooks refresh token expires in ${EXPIRY_WARNING_DAYS} days. Reconnect the company before then.`
        );
    });

    it('writes one day in the singular', () => {
        expect(expiryWarning(inDays(1.5), undefined, NOW)).toContain(
            'expires in 1 day.'
        );
    });

    it('takes the earlier of the rolling and the hard expiry', () => {
        expect(expiryWarning(inDays(90), inDays(3), NOW)).toContain(
            'expires in 3 days'
        );
        expect(expiryWarning(inDays(2), inDays(900), NOW)).toContain(
            'expires in 2 days'
        );
    });

    it('says the token has expired once the earlier date has passed', () => {
        expect(expiryWarning(inDays(-1), inDays(40), NOW)).toBe(
            'The QuickBooks refresh token has expired. Reconnect the company.'
        );
    });
});
