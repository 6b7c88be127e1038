"""`qbsync-sandbox`: run and drive the local QuickBooks and Salesforce emulators.

`qbsync-sandbox qbo serve …` and `qbsync-sandbox salesforce serve …` are how `Stack` starts them;
each subcommand's module is imported only when it runs, so starting one emulator never loads the
other's Flask app.
"""

from __future__ import annotations

import importlib

import click

EMULATORS = {
    "qbo": "qbsync_sandbox.emulators.quickbooks.cli:qbo",
    "salesforce": "qbsync_sandbox.emulators.salesforce.cli:salesforce",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(EMULATORS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in EMULATORS:
            return None
        module, _, attribute = EMULATORS[name].partition(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=_LazyGroup)
def main() -> None:
    """Local QuickBooks and Salesforce emulators."""


if __name__ == "__main__":
    main()
