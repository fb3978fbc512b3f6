"""Attack: sys.exit(0) while being imported. Guarantee: SystemExit is caught on the learner's
side and crosses as an import error; the grade is an error naming it."""

import sys

sys.exit(0)
