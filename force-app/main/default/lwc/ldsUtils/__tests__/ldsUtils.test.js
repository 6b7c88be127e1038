import { reduceErrors } from 'c/ldsUtils';

describe('c/ldsUtils reduceErrors', () => {
    it('reads an Apex AuraHandledException', () => {
        const error = {
            status: 500,
            body: {
                message: 'Realm not found',
                exceptionType: 'AuraHandledException'
            }
        };
        expect(reduceErrors(error)).toEqual(['Realm not found']);
    });

    it('reads UI API array bodies', () => {
        expect(
            reduceErrors({
                body: [{ message: 'First' }, { message: 'Second' }]
            })
        ).toEqual(['First', 'Second']);
    });

    it('reads DML page and field errors', () => {
        const error = {
            body: {
                message: 'ignored when details exist',
                pageErrors: [{ message: 'Page problem' }],
                fieldErrors: {
                    Realtime_Enabled__c: [
                        {
                            message:
                                'Add field mappings before enabling real-time sync.'
                        }
                    ]
                }
            }
        };
        expect(reduceErrors(error)).toEqual([
            'Page problem',
            'Add field mappings before enabling real-time sync.'
        ]);
    });

    it('reads record API output errors', () => {
        const error = {
            body: {
                output: {
                    errors: [{ message: 'Output problem' }],
                    fieldErrors: { Name: [{ message: 'Name is required' }] }
                }
            }
        };
        expect(reduceErrors(error)).toEqual([
            'Output problem',
            'Name is required'
        ]);
    });

    it('reads JavaScript errors, strings and lists, skipping empties', () => {
        expect(
            reduceErrors([
                new TypeError('x is undefined'),
                'plain',
                null,
                undefined
            ])
        ).toEqual(['x is undefined', 'plain']);
    });

    it('falls back to the status text', () => {
        expect(reduceErrors({ statusText: 'Bad Gateway' })).toEqual([
            'Bad Gateway'
        ]);
    });
});
