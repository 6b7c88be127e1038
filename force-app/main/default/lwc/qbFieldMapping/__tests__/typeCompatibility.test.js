import { compatibility } from '../typeCompatibility';

describe('qbFieldMapping type compatibility', () => {
    it.each([
        ['string', 'String', 'ok'],
        ['string', 'Email', 'ok'],
        ['string', 'Double', 'warning'],
        ['string', 'Boolean', 'warning'],
        ['decimal', 'Currency', 'ok'],
        ['decimal', 'String', 'info'],
        ['decimal', 'Int', 'warning'],
        ['decimal', 'Date', 'error'],
        ['integer', 'Double', 'ok'],
        ['boolean', 'Boolean', 'ok'],
        ['boolean', 'TextArea', 'info'],
        ['boolean', 'Currency', 'error'],
        ['date', 'Date', 'ok'],
        ['datetime', 'Date', 'info'],
        ['reference', 'Reference', 'ok'],
        ['reference', 'String', 'info'],
        ['string', 'Reference', 'error'],
        ['string', 'Address', 'error']
    ])('%s → %s is %s', (qbType, dataType, level) => {
        expect(compatibility(qbType, dataType).level).toBe(level);
    });

    it('says a decimal into text is converted to text', () => {
        expect(compatibility('decimal', 'String').message).toBe(
            'Converted to text'
        );
    });
});
