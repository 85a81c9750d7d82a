"""Suite-wide settings.

Hypothesis profiles: by default every run draws new examples, so development runs keep
finding new cases. CI (``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``) derandomizes: the
gate that decides what lands runs the same examples every time, and a failure there is
reproducible from the log. Neither profile times an example (no deadline, no
too_slow health check): how long an example takes says how loaded the machine is, not
whether the code is right, and a test must not fail because a shared machine is busy.

Parallel runs (``make pytest`` runs ``pytest -n auto --dist loadfile``, pytest-xdist):
each test file stays on one worker, so a module's fixtures (daemons, a built bundle) are
made once; and every test on real sockets or daemons (marked ``integration`` or
``netns``, listed in NETWORK below) runs on one worker, one at a time and first, so two
groups of daemons never compete for the same cores (their deadlines assume they do
not) while the other workers run the pure and in-process tests.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, print_blob=True, **UNTIMED)
settings.register_profile("dev", print_blob=True, **UNTIMED)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# Node ids (relative to the repository) of the tests on real sockets or daemons, by
# prefix. A test marked integration or netns anywhere else is a collection error, so
# this list cannot fall behind the marks.
NETWORK = (
    "tests/integration/",
    "tests/netns/",
    "tests/interop/",
    "tests/node/test_p2p.py::",
    "tests/node/test_scope.py::",
    "tests/cli/test_keys_cli.py::test_after_rotation_the_node_starts_with_the_new_key",
)
NETWORK_SCOPE = "network"


def on_the_network(nodeid: str) -> bool:
    return nodeid.startswith(NETWORK)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stray = [item.nodeid for item in items
             if (item.get_closest_marker("integration") or item.get_closest_marker("netns"))
             and not on_the_network(item.nodeid)]
    if stray:
        raise pytest.UsageError(
            "tests marked integration or netns must be listed in NETWORK in "
            "tests/conftest.py (parallel runs keep them on one worker): " + ", ".join(stray))


try:
    from xdist.scheduler import LoadFileScheduling
except ImportError:  # pytest-xdist is a test dependency; without it runs are serial
    pass
else:

    class _NetworkFirst(OrderedDict[str, Any]):
        """The work queue with the network scope (the longest) always at its head."""

        def __setitem__(self, key: str, value: Any) -> None:
            super().__setitem__(key, value)
            if key == NETWORK_SCOPE:
                self.move_to_end(key, last=False)

    class NetworkAwareScheduling(LoadFileScheduling):  # type: ignore[misc]
        """--dist loadfile, with every network test in one scope that starts first."""

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self.workqueue = _NetworkFirst()

        def _split_scope(self, nodeid: str) -> str:
            if on_the_network(nodeid):
                return NETWORK_SCOPE
            return str(super()._split_scope(nodeid))

    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        if config.getvalue("dist") != "loadfile":
            return None  # xdist's own choice
        return NetworkAwareScheduling(config, log)
