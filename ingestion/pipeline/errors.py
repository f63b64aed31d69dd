"""File-level faults: the only errors the pipeline raises. Bad rows are data, not errors."""


class FileRejected(Exception):
    """The file as a whole cannot be loaded; the message says why, in the user's terms."""


class EncodingMismatch(Exception):
    """The file stopped decoding with the encoding guessed from its start; read it again."""


FILE_EMPTY = "the file is empty"
FILE_BINARY = "the file is binary, not a CSV or XLSX file"
FILE_LEGACY_XLS = "legacy .xls workbooks are not supported: save the file as .xlsx or .csv"
FILE_BAD_XLSX = "the file looks like an XLSX workbook but cannot be read: {error}"
FILE_NO_HEADER = "the file has no header row"
FILE_MISSING_COLUMNS = "missing required columns: {missing} (found: {found})"
FILE_DUPLICATE_COLUMN = "column {column!r} appears more than once in the header"
FILE_MALFORMED = "the file is not a well-formed CSV: {error}"
FILE_NOT_FOUND = "no such file: {path}"
FILE_UNREADABLE = "the file cannot be read: {error}"
