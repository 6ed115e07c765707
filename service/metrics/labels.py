"""Bounded label values for app versions.

Each app keeps at most ``max_versions`` version labels: the versions with the
most active installs, as last loaded by the metrics collector, plus versions
seen first while the app has fewer than that. Every other version is counted
under ``other``, so a fleet of many builds cannot grow the series count.
"""

import threading
from collections.abc import Iterable

OTHER = "other"


class VersionLabels:
    def __init__(self, max_versions: int = 15) -> None:
        self.max_versions = max_versions
        self._allowed: dict[int, set[str]] = {}
        self._lock = threading.Lock()

    def label(self, app_id: int, version: str) -> str:
        """Return the label value for an app version: itself or ``other``."""
        with self._lock:
            allowed = self._allowed.setdefault(app_id, set())
            if version in allowed:
                return version
            if len(allowed) < self.max_versions:
                allowed.add(version)
                return version
        return OTHER

    def load(self, app_id: int, versions_by_installs: Iterable[str]) -> None:
        """Replace an app's versions with the most active ones, busiest first."""
        top = list(versions_by_installs)[: self.max_versions]
        with self._lock:
            self._allowed[app_id] = set(top)
