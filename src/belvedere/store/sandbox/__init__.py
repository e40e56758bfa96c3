"""User SQL runs in a process of its own (``worker``), over a copy of one project's rows (``export``), under
a memory bound the kernel enforces and a deadline the server enforces by killing it (``pool``)."""

# The largest answer, as JSON: beyond it the query is refused rather than sent.
MAX_ANSWER_BYTES = 8 * 1024 * 1024

# Every DuckDB database Belvedere opens, the server's and the sandbox's: no file access (``read_*``,
# ``COPY``, ``ATTACH``, replacement scans of paths), no extension installed or loaded, and no setting
# changed once open. The allowlists stop user SQL first; this holds if they ever fail.
LOCKED_DOWN: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "lock_configuration": True,
}
