//! The caller bot (media part comes with the media session).
