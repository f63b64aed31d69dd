"""File-level faults: the only errors the pipeline raises. Bad rows are data, not errors."""

# The workbook checks are shared with the admin's imports (``warehouse.file_guard``).
from warehouse.file_guard import FILE_PART_RATIO as FILE_PART_RATIO
from warehouse.file_guard import FILE_PART_TOO_LARGE as FILE_PART_TOO_LARGE
from warehouse.file_guard import FileRejected as FileRejected


class EncodingMismatch(Exception):
    """The file stopped decoding with the encoding guessed from its start; read it again."""


FILE_EMPTY = "the file is empty"
FILE_BINARY = "the file is binary, not a CSV file or a workbook"
FILE_BAD_XLSX = "the file looks like an XLSX workbook but cannot be read: {error}"
FILE_NO_HEADER = "the file has no header row"
FILE_MISSING_COLUMNS = "missing required columns: {missing} (found: {found})"
FILE_DUPLICATE_COLUMN = "column {column!r} appears more than once in the header"
FILE_MALFORMED = "the file is not a well-formed CSV: {error}"
FILE_NOT_FOUND = "no such file: {path}"
FILE_UNREADABLE = "the file cannot be read: {error}"
FILE_CANNOT_READ = "cannot read {path}: {reason}"
FILE_LINE_TOO_LONG = "line {line} is longer than the line limit ({limit}): is this really a CSV file?"
FILE_CHUNK_TOO_LONG = (
    "the rows from line {line} run over {limit} without ending: a quoted field is probably not closed"
)
FILE_UTF16_NO_BOM = "the file is UTF-16 without byte-order mark: save it as UTF-8 or with a byte-order mark"
FILE_NO_SHEET = "the workbook has no sheet named {sheet!r} (sheets: {names})"
FILE_NOT_A_WORKBOOK = "a ZIP archive, but not an Excel workbook (.xlsx) or an OpenDocument spreadsheet (.ods)"
FILE_BAD_WORKBOOK = "the file looks like {label} but cannot be read: {error}"
