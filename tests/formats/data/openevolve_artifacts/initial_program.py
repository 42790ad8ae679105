"""Parse durations such as "1h30m" or "45s" into seconds."""


# EVOLVE-BLOCK-START
def parse_duration(text):
    """Handles minutes and seconds only."""
    total = 0
    number = ""
    for char in text:
        if char.isdigit():
            number += char
        elif char == "m":
            total, number = total + 60 * int(number), ""
        elif char == "s":
            total, number = total + int(number), ""
    return total


# EVOLVE-BLOCK-END
