"""Domain errors that services raise; the API exception handler turns them into responses."""


class Conflict(Exception):
    """The request is valid but the current state forbids it (e.g. it would overdraw a case)."""

    def __init__(self, message: str, code: str = "conflict"):
        super().__init__(message)
        self.message = message
        self.code = code
