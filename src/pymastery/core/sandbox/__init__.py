"""The grading sandbox of cohort mode: learner code run with no network, no view of anything but
its own copy of the exercise, hard limits, and a verdict it cannot forge.

`supervisor` starts and stops sandboxes (bubblewrap, setpriv, prlimit, a cgroup), `policy` holds
the seccomp filter, `channel` the JSON channel between the learner's sandbox and the tests', and
`harness` runs pytest inside. `pymastery.core.grading.grade(..., sandbox=True)` puts them together;
docs/architecture.md ("The grading sandbox") describes the layers and the threat model.
"""
