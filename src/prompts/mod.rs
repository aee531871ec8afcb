//! Prompts: the catalog of recorded WAV prompts and readback of numbers, money, dates and digits.
