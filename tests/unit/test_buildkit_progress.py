"""Reading BuildKit's plain progress output: the step that failed and the CLI's last error."""

from __future__ import annotations

from dockyard.engine.pipeline.buildkit import StepTracker

FAILED_RUN = """\
#4 [1/3] FROM docker.io/library/busybox:stable
#4 DONE 0.0s

#5 [2/3] RUN make
#5 0.101 building
#5 ERROR: executor failed running [/bin/sh -c make]: exit code: 2

#6 [3/3] COPY . /src
#6 CANCELED
------
 > [2/3] RUN make:
------
executor failed running [/bin/sh -c make]: exit code: 2
"""


def test_the_failing_step_and_the_last_error_line_are_named() -> None:
    tracker = StepTracker()
    tracker(FAILED_RUN.splitlines())
    assert tracker.failure() == (
        " at step [2/3] RUN make: executor failed running [/bin/sh -c make]: exit code: 2"
    )


def test_an_error_before_any_step_has_no_step() -> None:
    tracker = StepTracker()
    tracker(["ERROR: failed to solve: failed to read dockerfile: no such file"])
    assert tracker.failure() == ": failed to read dockerfile: no such file"


def test_a_base_image_that_could_not_be_resolved_is_named() -> None:
    tracker = StepTracker()
    tracker(
        [
            "#3 [internal] load metadata for docker.io/library/nope:1",
            "#3 ERROR: failed to do request: Head ...: no such host",
            "failed to solve with frontend dockerfile.v0: failed to create LLB definition: "
            "failed to do request: Head ...: no such host",
        ]
    )
    assert tracker.unpulled_base() == "docker.io/library/nope:1"
    assert tracker.message() == "failed to do request: Head ...: no such host"
