// Checks force-app against the documented limits in metadata-limits.mjs: the lengths and API-name
// rules a deploy enforces but the Metadata API schema cannot express (a 256-character permission set
// description passes the XSD and source conversion, then fails the deploy and rolls it all back).
// Prints every value over its limit with the page that states the limit; exits 1 on any.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import {
    COMPONENT_NAME_RULES,
    DEVELOPER_NAME_RULES,
    FIELD_LENGTHS,
    FIELD_LENGTH_SOURCE,
    MAX_PRECISION,
    METADATA_TYPES,
    NUMBER_TYPES,
    PICKLIST_SOURCE,
    PICKLIST_VALUE_LENGTH,
    VISIBLE_LINES,
    VISIBLE_LINES_SOURCE
} from './metadata-limits.mjs';

const root = process.argv[2] ?? 'force-app';
const parser = new XMLParser({
    ignoreAttributes: true,
    parseTagValue: false,
    trimValues: true
});

const problems = [];
let checked = 0;
const checkedTypes = new Map();

// Salesforce counts characters, not UTF-16 code units or bytes.
const lengthOf = (text) => [...text].length;

function metadataFiles(dir) {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('-meta.xml'))
        .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
        .filter((path) => !path.split(/[\\/]/).includes('node_modules'))
        .sort();
}

function report(file, message, source) {
    problems.push(`${relative(process.cwd(), file)}: ${message} (${source})`);
}

function checkLength(file, what, value, limit, source) {
    checked += 1;
    const length = lengthOf(String(value));
    if (length > limit) {
        report(
            file,
            `${what} is ${length} characters; the limit is ${limit}`,
            source
        );
    }
}

function checkName(file, spec, fullName) {
    let name = spec.objectPrefixed ? fullName.split('.').pop() : fullName;
    if (spec.customSuffix && name.endsWith(spec.customSuffix)) {
        name = name.slice(0, -spec.customSuffix.length);
    }
    const rules = spec.componentFolder
        ? COMPONENT_NAME_RULES
        : DEVELOPER_NAME_RULES;
    for (const rule of rules) {
        checked += 1;
        if (!rule.test(name)) {
            report(
                file,
                `${spec.type} name '${fullName}' ${rule.problem}`,
                spec.source
            );
        }
    }
    if (spec.nameLength) {
        checkLength(
            file,
            `${spec.type} name '${fullName}'`,
            name,
            spec.nameLength,
            spec.source
        );
    }
}

function asList(value) {
    if (value === undefined) {
        return [];
    }
    return Array.isArray(value) ? value : [value];
}

function checkField(file, field) {
    const name = field.fullName ?? basename(file, '.field-meta.xml');
    const type = field.type;
    // A formula field declares its return type (`Text`) but no length (Salesforce retrieves
    // formula fields without one and sizes the result itself): only stored text has a length.
    if (type in FIELD_LENGTHS && field.formula === undefined) {
        const [shortest, longest] = FIELD_LENGTHS[type];
        const length = Number(field.length);
        checked += 1;
        if (
            !Number.isInteger(length) ||
            length < shortest ||
            length > longest
        ) {
            report(
                file,
                `${type} field ${name} has length ${field.length}; it must be ${shortest} to ${longest}`,
                FIELD_LENGTH_SOURCE
            );
        }
    }
    if (type === 'LongTextArea' && field.visibleLines !== undefined) {
        const lines = Number(field.visibleLines);
        checked += 1;
        if (lines < VISIBLE_LINES[0] || lines > VISIBLE_LINES[1]) {
            report(
                file,
                `${name} shows ${field.visibleLines} lines; it must be ${VISIBLE_LINES[0]} to ${VISIBLE_LINES[1]}`,
                VISIBLE_LINES_SOURCE
            );
        }
    }
    if (NUMBER_TYPES.has(type) && field.precision !== undefined) {
        const precision = Number(field.precision);
        const scale = Number(field.scale ?? 0);
        checked += 1;
        if (precision > MAX_PRECISION || scale < 0 || scale > precision) {
            report(
                file,
                `${type} field ${name} has precision ${field.precision} and scale ${field.scale}; at most ${MAX_PRECISION} digits, scale within them`,
                FIELD_LENGTH_SOURCE
            );
        }
    }
    const values = asList(field.valueSet?.valueSetDefinition?.value);
    for (const value of values) {
        for (const part of ['fullName', 'label']) {
            if (value[part] !== undefined) {
                checkLength(
                    file,
                    `picklist value ${part} '${value[part]}' of ${name}`,
                    value[part],
                    PICKLIST_VALUE_LENGTH,
                    PICKLIST_SOURCE
                );
            }
        }
    }
}

for (const file of metadataFiles(root)) {
    const spec = METADATA_TYPES.find((candidate) =>
        file.endsWith(candidate.suffix)
    );
    if (!spec) {
        continue;
    }
    checkedTypes.set(spec.type, (checkedTypes.get(spec.type) ?? 0) + 1);
    const fullName = spec.componentFolder
        ? basename(dirname(file))
        : basename(file, spec.suffix);
    checkName(file, spec, fullName);

    let document;
    try {
        document = parser.parse(readFileSync(file, 'utf8'), true);
    } catch (error) {
        report(file, `not well-formed XML: ${error.message}`, spec.source);
        continue;
    }
    const body = Object.entries(document).find(([key]) => key !== '?xml')?.[1];
    if (body === undefined || typeof body !== 'object') {
        continue;
    }
    for (const [element, limit] of Object.entries(spec.text)) {
        if (body[element] !== undefined) {
            checkLength(
                file,
                `${spec.type} ${element}`,
                body[element],
                limit,
                spec.source
            );
        }
    }
    if (spec.type === 'CustomField') {
        checkField(file, body);
    }
}

if (checkedTypes.size === 0) {
    console.error(`documented-limits: no metadata files under ${root}`);
    process.exit(1);
}
const summary = [...checkedTypes]
    .map(([type, count]) => `${type} ${count}`)
    .join(', ');
for (const problem of problems) {
    console.error(problem);
}
if (problems.length > 0) {
    console.error(
        `documented-limits: ${problems.length} of ${checked} limits exceeded (${summary})`
    );
    process.exit(1);
}
console.log(
    `documented-limits: ${checked} limits checked, none exceeded (${summary})`
);
