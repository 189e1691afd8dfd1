//! Values that add up: per-object statistics merge into an hour, hours into a day.

/// Values that add up. Merging is order-independent for every implementation here except the
/// label maps' overflow into `_other`, which depends on which labels came first.
pub trait Merge {
    fn merge(&mut self, other: &Self);
}

impl Merge for u64 {
    fn merge(&mut self, other: &Self) {
        *self += *other;
    }
}
