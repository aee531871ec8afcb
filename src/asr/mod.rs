//! Speech recognition: the `Recognizer` seam, the whisper-rs engine, a bounded worker pool, model files.
