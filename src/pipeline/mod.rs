//! The workflow steps `train`, `register` and `infer`, composed from `data`, `track` and `ml`.
//! The only layer that knows all three; it still never prints.
