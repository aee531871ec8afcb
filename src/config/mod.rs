//! Server configuration (`hotline.toml`): every key optional, unknown keys refused with file:line:column.
