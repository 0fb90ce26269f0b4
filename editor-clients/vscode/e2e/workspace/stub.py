# The e2e workspace (editor-clients/vscode/e2e): `make e2e` opens this file in code-server.


def running_max(numbers: list[int]) -> list[int]:
    """Return a list where element i is the largest value among numbers[0..i].

    >>> running_max([1, 3, 2, 5, 4])
    [1, 3, 3, 5, 5]
    """
    ...


def count_vowels(text: str) -> int:
    """Return how many characters of text are vowels (a, e, i, o, u, in either case)."""
    # Walk over the characters of text.
    # Count those that are in "aeiouAEIOU".
    # Return the count.
    pass
