// UI API dataType values grouped as the worker converts them (middleware/qbsync/mapping.py).
const TEXT = new Set([
    'String',
    'TextArea',
    'Phone',
    'Url',
    'Email',
    'Picklist',
    'MultiPicklist',
    'ComboBox',
    'EncryptedString'
]);
const DECIMAL = new Set(['Double', 'Currency', 'Percent']);
const WHOLE = new Set(['Int', 'Long']);

const kindOf = (dataType) => {
    if (TEXT.has(dataType)) {
        return 'text';
    }
    if (DECIMAL.has(dataType)) {
        return 'decimal';
    }
    if (WHOLE.has(dataType)) {
        return 'whole';
    }
    return (
        {
            Boolean: 'boolean',
            Date: 'date',
            DateTime: 'datetime',
            Reference: 'reference'
        }[dataType] || 'other'
    );
};

const OK = (message) => ({ level: 'ok', message });
const CONVERTED = (message) => ({ level: 'info', message });
const MAY_FAIL = (message) => ({ level: 'warning', message });
const INCOMPATIBLE = {
    level: 'error',
    message: 'Incompatible: the sync will refuse these records'
};

// QuickBooks catalog type → Salesforce kind → hint. Missing pairs are incompatible.
const RULES = {
    string: {
        text: OK('OK'),
        decimal: MAY_FAIL('May fail: the text must be a number'),
        whole: MAY_FAIL('May fail: the text must be a whole number'),
        boolean: MAY_FAIL('May fail: the text must be true or false'),
        date: MAY_FAIL('May fail: the text must be a date'),
        datetime: MAY_FAIL('May fail: the text must be a date and time')
    },
    decimal: {
        decimal: OK('OK'),
        whole: MAY_FAIL('May fail: amounts with a fraction are refused'),
        text: CONVERTED('Converted to text')
    },
    integer: {
        whole: OK('OK'),
        decimal: OK('OK'),
        text: CONVERTED('Converted to text')
    },
    boolean: {
        boolean: OK('OK'),
        text: CONVERTED('Converted to text (true/false)')
    },
    date: {
        date: OK('OK'),
        datetime: CONVERTED('Converted to midnight UTC'),
        text: CONVERTED('Converted to text')
    },
    datetime: {
        datetime: OK('OK'),
        date: CONVERTED('The time of day is dropped'),
        text: CONVERTED('Converted to text')
    },
    reference: {
        reference: OK(
            "OK: linked through the parent's external id; map the parent too"
        ),
        text: CONVERTED("Stored as the parent's QuickBooks key (text)")
    }
};

/**
 * How a QuickBooks field of catalog type `qbType` fits a Salesforce field of UI
 * API `dataType`: level ok | info | warning | error and a short message.
 */
export function compatibility(qbType, dataType) {
    return RULES[qbType]?.[kindOf(dataType)] || INCOMPATIBLE;
}
