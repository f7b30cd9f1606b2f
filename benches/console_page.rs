//! Console page benchmark (being written; see BENCHMARKS.md when it lands).
fn main() {}
