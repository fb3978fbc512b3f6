"""The reference solution of the sandbox's test exercise."""


def invoice_total(lines: list[int]) -> int:
    if any(line < 0 for line in lines):
        raise ValueError(f"negative line: {min(lines)}")
    return sum(lines)


def largest_line(lines: list[int]) -> dict[str, int] | None:
    if not lines:
        return None
    index = max(range(len(lines)), key=lines.__getitem__)
    return {"index": index, "cents": lines[index]}
