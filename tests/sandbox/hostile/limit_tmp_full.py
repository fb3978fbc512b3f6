"""Attack: fill the disk with many files, each under the file-size cap. Guarantee: /tmp is a
size-capped tmpfs; the write fails with "No space left" and a plain note."""


def invoice_total(lines: list[int]) -> int:
    for index in range(200):
        with open(f"/tmp/fill-{index}", "wb") as handle:
            handle.write(b"x" * 1024**2)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
