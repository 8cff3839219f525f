//! Files people open in a spreadsheet (placeholder: the shared CSV writer of issue 10).
