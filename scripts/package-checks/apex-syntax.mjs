// Parses every Apex class and trigger under force-app with @apexdevtools/apex-parser and exits 1
// on any syntax error. The parser reports errors to a listener but never fails by itself (its exit
// code stays 0: research/salesforce.md §5(b)), so the errors are counted here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
    ApexErrorListener,
    ApexParserFactory
} from '@apexdevtools/apex-parser';

const root = process.argv[2] ?? 'force-app';

class CollectingListener extends ApexErrorListener {
    constructor() {
        super();
        this.errors = [];
    }

    apexSyntaxError(line, column, message) {
        this.errors.push(`${line}:${column} ${message}`);
    }
}

function apexFiles(dir) {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter(
            (entry) => entry.isFile() && /\.(cls|trigger)$/.test(entry.name)
        )
        .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
        .filter((path) => !path.split(/[\\/]/).includes('node_modules'))
        .sort();
}

const files = apexFiles(root);
if (files.length === 0) {
    console.error(`apex-syntax: no .cls or .trigger files under ${root}`);
    process.exit(1);
}

let failures = 0;
for (const file of files) {
    const listener = new CollectingListener();
    const { parser } = ApexParserFactory.createLexerAndParser(
        readFileSync(file, 'utf8'),
        listener
    );
    if (file.endsWith('.trigger')) {
        parser.triggerUnit();
    } else {
        parser.compilationUnit();
    }
    for (const error of listener.errors) {
        console.error(`${relative(process.cwd(), file)}:${error}`);
    }
    failures += listener.errors.length;
}

if (failures > 0) {
    console.error(
        `apex-syntax: ${failures} syntax error(s) in ${files.length} file(s)`
    );
    process.exit(1);
}
console.log(`apex-syntax: ${files.length} file(s) parsed without errors`);
