//! Fallible maps over many items on all cores, with the outcome a loop
//! would have: results in input order, and the error of the first item
//! that fails.
//!
//! rayon's own `collect::<Result<..>>()` stops at whichever error some
//! thread meets first, which would make error messages depend on
//! scheduling; generation must report the failure the reference reports.

use rayon::prelude::*;

use crate::error::Result;

/// Below this many items a plain loop is cheaper than spreading them.
const PARALLEL_FROM: usize = 16;

/// `items.iter().map(f).collect::<Result<Vec<_>>>()`, spread over the
/// cores when there are many items.
pub fn try_map<T, U, F>(items: &[T], f: F) -> Result<Vec<U>>
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> Result<U> + Sync + Send,
{
    if items.len() < PARALLEL_FROM {
        return items.iter().map(f).collect();
    }
    let outcomes: Vec<Result<U>> = items.par_iter().with_max_len(4).map(f).collect();
    outcomes.into_iter().collect()
}

/// [`try_map`] for items the map consumes.
pub fn try_map_owned<T, U, F>(items: Vec<T>, f: F) -> Result<Vec<U>>
where
    T: Send,
    U: Send,
    F: Fn(T) -> Result<U> + Sync + Send,
{
    if items.len() < PARALLEL_FROM {
        return items.into_iter().map(f).collect();
    }
    let outcomes: Vec<Result<U>> = items.into_par_iter().with_max_len(4).map(f).collect();
    outcomes.into_iter().collect()
}

/// Values that tasks left under their labels, with each task's position
/// in a loop over them: what a task one by one would have seen is what the
/// tasks before it left. Parallel versions of such loops look values up
/// here by their own position. (A label used twice keeps both values; the
/// later one wins from its position on, as an insertion into a dict would.)
#[derive(Debug)]
pub struct LeftBefore<V>(foldhash::HashMap<String, Vec<(usize, V)>>);

impl<V> Default for LeftBefore<V> {
    fn default() -> Self {
        LeftBefore(foldhash::HashMap::default())
    }
}

impl<V> LeftBefore<V> {
    pub fn add(&mut self, label: &str, position: usize, value: V) {
        self.0
            .entry(label.to_owned())
            .or_default()
            .push((position, value));
    }

    /// The value the last task labelled `label` before `position` left.
    pub fn before(&self, position: usize, label: &str) -> Option<&V> {
        self.up_to(position, label, false)
    }

    /// [`LeftBefore::before`], counting the task at `position` itself.
    pub fn at_or_before(&self, position: usize, label: &str) -> Option<&V> {
        self.up_to(position, label, true)
    }

    fn up_to(&self, position: usize, label: &str, inclusive: bool) -> Option<&V> {
        self.0
            .get(label)?
            .iter()
            .filter(|(p, _)| *p < position || (inclusive && *p == position))
            .max_by_key(|(p, _)| *p)
            .map(|(_, value)| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn refuse_multiples_of_seven(n: &u32) -> Result<u32> {
        if n.is_multiple_of(7) {
            return Err(Error::transform(format!("{n} refused")));
        }
        Ok(n * 2)
    }

    #[test]
    fn results_keep_their_order_and_the_first_failure_in_order_wins() {
        for count in [3, PARALLEL_FROM, 500] {
            let items: Vec<u32> = (1..=count as u32).map(|n| n * 7 + 1).collect();
            let doubled = try_map(&items, refuse_multiples_of_seven).unwrap();
            assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
            let owned = try_map_owned(items.clone(), |n| refuse_multiples_of_seven(&n)).unwrap();
            assert_eq!(owned, doubled);
        }

        let items: Vec<u32> = (1..=500).collect();
        let err = try_map(&items, refuse_multiples_of_seven).unwrap_err();
        assert!(err.to_string().contains("7 refused"), "{err}");
        let err = try_map_owned(items, |n| refuse_multiples_of_seven(&n)).unwrap_err();
        assert!(err.to_string().contains("7 refused"), "{err}");
    }

    #[test]
    fn a_position_sees_only_what_came_before_it() {
        let mut left = LeftBefore::default();
        left.add("a", 2, "first");
        left.add("a", 5, "second");
        assert_eq!(left.before(2, "a"), None);
        assert_eq!(left.at_or_before(2, "a"), Some(&"first"));
        assert_eq!(left.before(5, "a"), Some(&"first"));
        assert_eq!(left.before(9, "a"), Some(&"second"));
        assert_eq!(left.before(9, "b"), None);
    }
}
