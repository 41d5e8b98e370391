"""One exception type for problems the user can fix, so the CLI can print them as one line."""


class UserError(Exception):
    """Bad input from the user (a missing path, a file that is not OTLP, a wrong flag value).

    The CLI catches it and prints ``rootspan: error: <message>`` with exit code 2 instead of a
    traceback; library callers can catch it to tell bad input from bugs.
    """

    exit_code: int = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
