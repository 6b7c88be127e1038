// Runs PMD's Apex rules through Salesforce Code Analyzer (core + PMD engine, research/salesforce.md
// §5(c)) over force-app: every rule tagged Security (CRUD/FLS, sharing, SOQL injection, …) plus every
// rule of severity Critical (1) or High (2). Prints each finding; exits 1 on any finding or on an
// error the engine reports, since a silent engine failure would otherwise look like a clean run.
import { resolve } from 'node:path';
import {
    CodeAnalyzer,
    CodeAnalyzerConfig,
    EventType,
    LogLevel
} from '@salesforce/code-analyzer-core';
import * as pmdEngine from '@salesforce/code-analyzer-pmd-engine';

const target = resolve(process.argv[2] ?? 'force-app');
const SELECTORS = ['pmd:Apex:Security', 'pmd:Apex:1', 'pmd:Apex:2'];

const engineErrors = [];
const analyzer = new CodeAnalyzer(CodeAnalyzerConfig.withDefaults());
const collectError = (event) => {
    if (event.logLevel <= LogLevel.Error) {
        engineErrors.push(event.message);
    }
};
analyzer.onEvent(EventType.LogEvent, collectError);
analyzer.onEvent(EventType.EngineLogEvent, collectError);

await analyzer.addEnginePlugin(pmdEngine.createEnginePlugin());
const workspace = await analyzer.createWorkspace([target]);
const selection = await analyzer.selectRules(SELECTORS, { workspace });
if (selection.getCount() === 0) {
    console.error(
        `pmd-security: no rules selected for ${SELECTORS.join(', ')}`
    );
    process.exit(1);
}
const results = await analyzer.run(selection, { workspace });

const violations = results.getViolations();
for (const violation of violations) {
    const rule = violation.getRule();
    const location = violation.getPrimaryLocation();
    console.error(
        `${location.getFile()}:${location.getStartLine()} [${rule.getName()}, severity ${rule.getSeverityLevel()}, ${rule.getTags().join('/')}] ${violation.getMessage()}`
    );
}
for (const message of engineErrors) {
    console.error(`pmd-security: engine error: ${message}`);
}

const ruleCount = selection.getCount();
if (violations.length > 0 || engineErrors.length > 0) {
    console.error(
        `pmd-security: ${violations.length} finding(s), ${engineErrors.length} error(s) from ${ruleCount} rules`
    );
    process.exit(1);
}
console.log(
    `pmd-security: ${ruleCount} rules (${SELECTORS.join(', ')}), no findings`
);
