"""The describes of the Salesforce objects the worker writes, cached until the configuration
changes."""

from __future__ import annotations

from qbsync.mapping import SObjectDescribe
from qbsync.remotes import Salesforce
from qbsync.store.config_signal import ConfigSignal


class Describes:
    """Salesforce describes by object name, read once per configuration generation."""

    def __init__(self, salesforce: Salesforce, signal: ConfigSignal) -> None:
        self.salesforce = salesforce
        self.signal = signal
        self._describes: dict[str, SObjectDescribe] = {}
        self._generation: int | None = None

    def __call__(self, sobject: str) -> SObjectDescribe:
        # A configuration change (a Save in Salesforce) may come with new fields: describe again.
        generation = self.signal.generation()
        if generation != self._generation:
            self._describes.clear()
            self.salesforce.forget_describes()
            self._generation = generation
        if sobject not in self._describes:
            self._describes[sobject] = SObjectDescribe.from_json(self.salesforce.describe(sobject))
        return self._describes[sobject]
