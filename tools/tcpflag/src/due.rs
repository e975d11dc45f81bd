//! Deadlines in capture time: which of the entries a tool is waiting on are due, found without
//! looking at the others.
//!
//! tcpflag waits on two kinds of entries: refused attempts (retries may still come within
//! `--retry-window`) and connections that may still get a stray RST (within
//! [`STRAY_WINDOW`](crate::stray::STRAY_WINDOW)). Scanning every entry for every flow made a
//! capture of refusals that share one window quadratic (10,000 refused connections within 0.1 s:
//! 0.5 s; 100,000: 16 s). Here each entry's time sits in a min-heap; a flow pops only what is
//! due. The map stays the truth: an entry whose time moved on (a retry joined it) or that left
//! the map is a stale heap entry, skipped when popped, and the heap is rebuilt from the map when
//! stale entries outnumber live ones, so both work and memory stay linear.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A capture time ordered with `total_cmp` (never NaN from JSON).
#[derive(Debug, Clone, Copy)]
struct Time(f64);

impl PartialEq for Time {
    fn eq(&self, o: &Self) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for Time {}
impl PartialOrd for Time {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Time {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// Times of the entries of a map, earliest first.
#[derive(Debug)]
pub struct Deadlines<K: Ord> {
    heap: BinaryHeap<Reverse<(Time, K)>>,
}

impl<K: Ord> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            heap: BinaryHeap::new(),
        }
    }
}

impl<K: Ord + Clone> Deadlines<K> {
    /// Notes that `key`'s entry now has time `ts` (a new entry, or one whose time moved on).
    pub fn push(&mut self, ts: f64, key: K) {
        self.heap.push(Reverse((Time(ts), key)));
    }

    /// The earliest noted key whose time is before `horizon`, removed from the heap. The caller
    /// checks it against its map: the entry may be gone or its time may have moved on.
    pub fn pop_before(&mut self, horizon: f64) -> Option<K> {
        match self.heap.peek() {
            Some(Reverse((t, _))) if t.0 < horizon => self.heap.pop().map(|Reverse((_, k))| k),
            _ => None,
        }
    }

    /// Forgets every entry (the map was emptied).
    pub fn clear(&mut self) {
        self.heap.clear();
    }

    /// Rebuilds the heap from the map's live entries when stale ones outnumber them (call after
    /// each push; amortised constant time).
    pub fn compact<'a, I>(&mut self, live: usize, entries: impl FnOnce() -> I)
    where
        I: Iterator<Item = (f64, &'a K)>,
        K: 'a,
    {
        if self.heap.len() > 2 * live + 1024 {
            self.heap = entries()
                .map(|(t, k)| Reverse((Time(t), k.clone())))
                .collect();
        }
    }

    /// Heap entries, stale ones included (for tests).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn pops_only_what_is_due_earliest_first() {
        let mut d = Deadlines::default();
        d.push(3.0, "c");
        d.push(1.0, "a");
        d.push(2.0, "b");
        assert_eq!(d.pop_before(2.5), Some("a"));
        assert_eq!(d.pop_before(2.5), Some("b"));
        assert_eq!(d.pop_before(2.5), None);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn stale_entries_are_compacted_away() {
        let mut d = Deadlines::default();
        let mut map: HashMap<u32, f64> = HashMap::new();
        map.insert(7, 0.0);
        for i in 0..10_000 {
            // one entry whose time keeps moving on
            map.insert(7, i as f64);
            d.push(i as f64, 7);
            d.compact(map.len(), || map.iter().map(|(k, t)| (*t, k)));
        }
        assert!(d.len() <= 2 * map.len() + 1025, "{}", d.len());
        assert_eq!(d.pop_before(1e9), Some(7));
    }
}
