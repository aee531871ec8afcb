//! Dialplans: the file format, loading with line:column errors, validation and the pure runtime.
