"""Attack: os._exit(0) while being imported, so that a runner in the same process ends with
status 0 before any test fails. Guarantee: the tests run in another process; they see the
learner's process end and the grade is an error that says so."""

import os

os._exit(0)
