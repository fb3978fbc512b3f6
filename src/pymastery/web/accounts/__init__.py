"""Accounts, cohorts and instructors: what cohort mode adds on top of the learner's app."""
