// Runs Salesforce Code Analyzer (core, research/salesforce.md §5(c)) over force-app with every engine
// of Code Analyzer v5 that installs from npm and runs offline: PMD (and its copy-paste detector CPD),
// ESLint (LWC and JavaScript rules), Regex, RetireJS (vulnerable JavaScript libraries; its
// vulnerability list ships inside the npm package, so no download) and Salesforce Graph Engine
// (SFGE, Java 11+: Developer Preview rules, selected by their Security tag and severity). The Flow
// engine is not run: it needs Python and its newest package here predates core 0.52, and force-app
// has no flows. The project's configuration (code-analyzer.yml) holds the suppressions of false
// positives, each with its reason.
//
// Selects the Recommended and Security rules and every rule of severity Critical (1) or High (2).
// Fails on any finding tagged Security (what an AppExchange security review reads), any finding of
// severity 1–2, and any error an engine reports (a silent engine failure would otherwise look like a
// clean run). Other findings (style, design, documentation) are counted per rule. Prints the rules
// and findings per engine.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
    CodeAnalyzer,
    CodeAnalyzerConfig,
    EventType,
    LogLevel
} from '@salesforce/code-analyzer-core';
import * as eslintEngine from '@salesforce/code-analyzer-eslint-engine';
import * as pmdEngine from '@salesforce/code-analyzer-pmd-engine';
import * as regexEngine from '@salesforce/code-analyzer-regex-engine';
import * as retireJsEngine from '@salesforce/code-analyzer-retirejs-engine';
import * as sfgeEngine from '@salesforce/code-analyzer-sfge-engine';

const CONFIG_FILE = join(
    dirname(fileURLToPath(import.meta.url)),
    '..',
    '..',
    'code-analyzer.yml'
);
const target = resolve(process.argv[2] ?? 'force-app');
// Severity 1–2 per engine. PMD's only for Apex: its JavaScript parser (Rhino) predates ES classes
// and reads every class field of an LWC as a global variable (GlobalVariable, severity 2: 113 false
// findings here); ESLint is the engine for JavaScript.
const SELECTORS = [
    'Recommended',
    'Security',
    ...['pmd:Apex', 'eslint', 'regex', 'retire-js', 'sfge'].flatMap(
        (engine) => [`${engine}:1`, `${engine}:2`]
    )
];
const HIGHEST_FAILING_SEVERITY = 2;

const isFailing = (rule) =>
    rule.getTags().includes('Security') ||
    rule.getSeverityLevel() <= HIGHEST_FAILING_SEVERITY;

const config = CodeAnalyzerConfig.fromFile(CONFIG_FILE);
const engineErrors = [];
const analyzer = new CodeAnalyzer(config);
const collectError = (event) => {
    if (event.logLevel <= LogLevel.Error) {
        engineErrors.push(event.message);
    }
};
analyzer.onEvent(EventType.LogEvent, collectError);
analyzer.onEvent(EventType.EngineLogEvent, collectError);

for (const engine of [
    pmdEngine,
    eslintEngine,
    regexEngine,
    retireJsEngine,
    sfgeEngine
]) {
    await analyzer.addEnginePlugin(engine.createEnginePlugin());
}
const workspace = await analyzer.createWorkspace([target]);
const selection = await analyzer.selectRules(SELECTORS, { workspace });
const securityRules = selection
    .getEngineNames()
    .flatMap((engine) => selection.getRulesFor(engine))
    .filter((rule) => rule.getTags().includes('Security')).length;
if (selection.getCount() === 0 || securityRules === 0) {
    console.error(
        `code-analyzer: ${selection.getCount()} rules, ${securityRules} of them Security, selected for ${SELECTORS.join(', ')}`
    );
    process.exit(1);
}
const results = await analyzer.run(selection, { workspace });

const violations = results.getViolations();
const failing = violations.filter((violation) =>
    isFailing(violation.getRule())
);
for (const violation of failing) {
    const rule = violation.getRule();
    const location = violation.getPrimaryLocation();
    console.error(
        `${location.getFile()}:${location.getStartLine()} [${rule.getName()}, severity ${rule.getSeverityLevel()}, ${rule.getTags().join('/')}] ${violation.getMessage()}`
    );
}
for (const message of engineErrors) {
    console.error(`code-analyzer: engine error: ${message}`);
}

const bySeverity = [1, 2, 3, 4, 5]
    .map((level) => `${level}: ${results.getViolationCountOfSeverity(level)}`)
    .join(', ');
const byRule = new Map();
for (const violation of violations) {
    const name = violation.getRule().getName();
    byRule.set(name, (byRule.get(name) ?? 0) + 1);
}
const suppressions = Object.values(config.getBulkSuppressions()).flat().length;
const summary =
    `code-analyzer: ${selection.getCount()} rules (${securityRules} Security) over ${target}: ` +
    `${violations.length} finding(s) by severity {${bySeverity}}, ${failing.length} failing ` +
    `(Security or severity 1–2), ${suppressions} suppression(s) in code-analyzer.yml`;
const byEngine = selection
    .getEngineNames()
    .map((engine) => {
        const rules = selection.getRulesFor(engine).length;
        const found = results.getEngineRunResults(engine).getViolationCount();
        return `${engine} ${rules} rules ${found} finding(s)`;
    })
    .join(', ');
if (failing.length > 0 || engineErrors.length > 0) {
    console.error(`${summary}, ${engineErrors.length} engine error(s)`);
    console.error(`code-analyzer: per engine: ${byEngine}`);
    process.exit(1);
}
console.log(summary);
console.log(`code-analyzer: per engine: ${byEngine}`);
if (byRule.size > 0) {
    console.log(
        `code-analyzer: not failing: ${[...byRule]
            .sort((a, b) => b[1] - a[1])
            .map(([name, count]) => `${name} ${count}`)
            .join(', ')}`
    );
}
