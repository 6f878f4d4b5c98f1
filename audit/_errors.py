"""The project's one exception and the exit codes of the command line."""

from __future__ import annotations

__all__ = ["AuditError", "EXIT_OK", "EXIT_GATE_FAILED", "EXIT_BAD_INPUT", "EXIT_INTERNAL"]

#: Every blocking check passed.
EXIT_OK = 0
#: A blocking check failed; the report was still written.
EXIT_GATE_FAILED = 1
#: Bad input: config, data or model. The message names the file, field or column and the fix.
EXIT_BAD_INPUT = 2
#: A bug in the toolkit itself.
EXIT_INTERNAL = 3


class AuditError(ValueError):
    """Bad input to an audit: a config field, a data column or a model file.

    The message is one paragraph that names what is wrong (file, field path or
    column), what was expected, what was found, and what to do. The command line
    prints it without a traceback and exits with code 2.

    Examples
    --------
    >>> raise AuditError("`data.target` must name a column of adult_test.csv; got 'incme'.")
    Traceback (most recent call last):
    ...
    audit._errors.AuditError: `data.target` must name a column of adult_test.csv; got 'incme'.
    """
