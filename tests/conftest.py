"""Suite-wide settings.

Hypothesis profiles: by default every run draws new examples, so development runs keep
finding new cases. CI (``.ci/run`` sets ``HYPOTHESIS_PROFILE=ci``) derandomizes: the
gate that decides what lands runs the same examples every time, and a failure there is
reproducible from the log.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
