"""Reads one mutmut run (the `mutants/` folder of the current directory) for scripts/mutation.

`summarise MODULE SOURCE RESULTS` appends the module's counts to RESULTS (one JSON line) and
prints its surviving mutants as `file:line  mutant  change`; `table RESULTS` prints the table.
"""

from __future__ import annotations

import ast
import difflib
import json
import sys
from collections import Counter
from pathlib import Path

import libcst as cst
from mutmut import __main__ as mutmut_cli

# mutmut's statuses, grouped the way the table counts them. "no tests" (no selected test reaches
# the function) and "suspicious" (the tests ran slower than their budget but passed) are
# survivors: nothing failed.
KILLED = {"killed"}
TIMED_OUT = {"timeout", "segfault"}


def _function_lines(source: Path, function: str, class_name: str | None) -> tuple[int, int]:
    tree = ast.parse(source.read_text("utf-8"))
    body = tree.body
    if class_name:
        body = next(
            node.body for node in body if isinstance(node, ast.ClassDef) and node.name == class_name
        )
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno, node.end_lineno or node.lineno
    raise LookupError(f"{function} not found in {source}")


def _change(module: cst.Module, mutant: str, source: Path) -> tuple[int, str]:
    """The line of `source` the mutant changes, and the changed line as the mutant has it."""
    original = cst.Module([mutmut_cli.read_original_function(module, mutant)]).code.splitlines()
    mutated = cst.Module([mutmut_cli.read_mutant_function(module, mutant)]).code.splitlines()
    function, class_name = mutmut_cli.orig_function_and_class_names_from_key(mutant)
    start, end = _function_lines(source, function, class_name)
    changed_old, changed_new = "", ""
    matcher = difflib.SequenceMatcher(a=original, b=mutated, autojunk=False)
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag != "equal":
            changed_old = original[a_start] if a_start < a_end else ""
            changed_new = mutated[b_start].strip() if b_start < b_end else "(removed)"
            break
    if not changed_old and not changed_new:
        return start, "(no change: mutmut wrote the function unchanged)"
    change = f"{changed_old.strip()}  →  {changed_new}"
    lines = source.read_text("utf-8").splitlines()
    for number in range(start, end + 1):
        if changed_old and lines[number - 1].strip() == changed_old.strip():
            return number, change
    return start, change


def summarise(module_name: str, source: Path, results: Path) -> None:
    mutmut_cli.ensure_config_loaded()
    counts: Counter[str] = Counter()
    survivors = []
    # Only the module's own file: the package is a link to the live tree, which may have gained
    # files since the run started (they have no mutants).
    for path in [Path("src/qbsync") / module_name]:
        data = mutmut_cli.SourceFileMutationData(path=path)
        data.load()
        module = mutmut_cli.read_mutants_module(path)
        for mutant, exit_code in sorted(data.exit_code_by_key.items()):
            status = mutmut_cli.status_by_exit_code.get(exit_code, f"exit code {exit_code}")
            counts["generated"] += 1
            if status in KILLED:
                counts["killed"] += 1
            elif status in TIMED_OUT:
                counts["timed out"] += 1
            else:
                counts["survived"] += 1
                line, change = _change(module, mutant, source)
                survivors.append((line, mutant, status, change))
    generated = counts["generated"]
    caught = counts["killed"] + counts["timed out"]
    row = {
        "module": module_name,
        "generated": generated,
        "killed": counts["killed"],
        "survived": counts["survived"],
        "timed out": counts["timed out"],
        "score": round(100 * caught / generated, 1) if generated else None,
    }
    with results.open("a", encoding="utf-8") as out:
        out.write(json.dumps(row) + "\n")
    print(f"--- {module_name}: {len(survivors)} surviving mutants")
    for line, mutant, status, change in sorted(survivors):
        extra = "" if status == "survived" else f" [{status}]"
        print(f"{source}:{line}  {mutant.rpartition('.')[2]}{extra}  {change}")


def table(results: Path) -> None:
    rows = [json.loads(line) for line in results.read_text("utf-8").splitlines() if line]
    columns = ["module", "generated", "killed", "survived", "timed out", "score"]
    cells = [
        [row["module"], "mutmut failed (see its log)", "", "", "", ""]
        if row.get("failed")
        else [row["module"], *(str(row[c]) for c in columns[1:5]), _score(row["score"])]
        for row in rows
    ]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


def _score(score: float | None) -> str:
    return "no mutants" if score is None else f"{score}%"


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    if command == "summarise":
        summarise(arguments[0], Path(arguments[1]), Path(arguments[2]))
    elif command == "table":
        table(Path(arguments[0]))
    else:
        sys.exit(f"unknown command {command}")
