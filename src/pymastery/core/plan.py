"""Fixed facts of the plan of record (`shared/curriculum-plan.md`) that the tree must match."""

SECTION_COUNTS: dict[int, int] = {
    5: 14,
    6: 16,
    7: 13,
    8: 15,
    9: 17,
    10: 16,
    11: 12,
    12: 14,
    13: 13,
    14: 15,
    15: 16,
    16: 12,
    17: 13,
    18: 15,
    19: 14,
    20: 16,
}
TOTAL_SECTIONS = sum(SECTION_COUNTS.values())  # 231
LEARNING_PATHS = 5
