//! The Kratos charm. (Being written.)
fn main() {}
