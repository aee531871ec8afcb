//! One call's lifecycle: the imperative shell that owns a dialog and its media and feeds the runtime.
