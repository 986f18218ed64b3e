//! A bitmap allocator over offsets `0..size` with a preferred-for-static lower band.

use rand::Rng;

/// Offsets `0..size`; `band` lowest offsets are taken by dynamic allocation only when the rest
/// is full (upstream's static subrange).
#[derive(Debug, Clone)]
pub struct Bitmap {
    words: Vec<u64>,
    size: u64,
    band: u64,
    used: u64,
}

impl Bitmap {
    /// A bitmap of `size` offsets whose lowest `band` are reserved for explicit requests first.
    pub fn new(size: u64, band: u64) -> Self {
        let words = usize::try_from(size.div_ceil(64)).unwrap_or(usize::MAX);
        Self {
            words: vec![0; words],
            size,
            band: band.min(size),
            used: 0,
        }
    }

    /// Number of offsets.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Offsets in use.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Offsets free.
    pub fn free(&self) -> u64 {
        self.size - self.used
    }

    /// Size of the lower (static) band.
    pub fn band(&self) -> u64 {
        self.band
    }

    fn idx(o: u64) -> (usize, u64) {
        (
            usize::try_from(o / 64).unwrap_or(usize::MAX),
            1u64 << (o % 64),
        )
    }

    /// Whether `offset` is in use (false when out of range).
    pub fn has(&self, offset: u64) -> bool {
        if offset >= self.size {
            return false;
        }
        let (w, b) = Self::idx(offset);
        self.words[w] & b != 0
    }

    /// Marks `offset` used; false if it was already used or is out of range.
    pub fn set(&mut self, offset: u64) -> bool {
        if offset >= self.size || self.has(offset) {
            return false;
        }
        let (w, b) = Self::idx(offset);
        self.words[w] |= b;
        self.used += 1;
        true
    }

    /// Marks `offset` free; false if it was not used.
    pub fn clear(&mut self, offset: u64) -> bool {
        if !self.has(offset) {
            return false;
        }
        let (w, b) = Self::idx(offset);
        self.words[w] &= !b;
        self.used -= 1;
        true
    }

    /// The first free offset at or after `from` within `lo..hi`, wrapping to `lo`.
    fn scan(&self, lo: u64, hi: u64, from: u64) -> Option<u64> {
        let mut o = from;
        // Two passes: from..hi, then lo..from. Whole-word skips keep a near-full map fast.
        for (start, end) in [(from, hi), (lo, from)] {
            o = start;
            while o < end {
                let (w, _) = Self::idx(o);
                if o.is_multiple_of(64) && end - o >= 64 && self.words[w] == u64::MAX {
                    o += 64;
                    continue;
                }
                if !self.has(o) {
                    return Some(o);
                }
                o += 1;
            }
        }
        let _ = o;
        None
    }

    /// Takes a free offset: random in the upper part first, then the lower band; `None` when full.
    pub fn allocate_next(&mut self, rng: &mut impl Rng) -> Option<u64> {
        let (lo, hi) = (self.band, self.size);
        let found = if lo < hi {
            let from = rng.random_range(lo..hi);
            self.scan(lo, hi, from)
        } else {
            None
        }
        .or_else(|| {
            (self.band > 0)
                .then(|| self.scan(0, self.band, rng.random_range(0..self.band)))
                .flatten()
        })?;
        self.set(found);
        Some(found)
    }

    /// Takes the lowest free offset (sequential allocation, as node IPAM does).
    pub fn allocate_first(&mut self) -> Option<u64> {
        let found = self.scan(0, self.size, 0)?;
        self.set(found);
        Some(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use std::collections::HashSet;

    #[test]
    fn dynamic_prefers_upper_band_then_fills_lower() {
        let mut b = Bitmap::new(100, 20);
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let mut seen = HashSet::new();
        for _ in 0..80 {
            let o = b.allocate_next(&mut rng).unwrap();
            assert!(o >= 20, "upper band first, got {o}");
            assert!(seen.insert(o));
        }
        for _ in 0..20 {
            let o = b.allocate_next(&mut rng).unwrap();
            assert!(o < 20);
            assert!(seen.insert(o));
        }
        assert_eq!(b.allocate_next(&mut rng), None);
        assert!(b.clear(42));
        assert_eq!(b.allocate_next(&mut rng), Some(42));
    }

    proptest! {
        #[test]
        fn never_hands_out_a_duplicate(size in 1u64..300, band in 0u64..40, seed: u64,
                                        ops in proptest::collection::vec((any::<bool>(), 0u64..300), 0..400)) {
            let mut b = Bitmap::new(size, band);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut model = HashSet::new();
            for (alloc, v) in ops {
                if alloc {
                    match b.allocate_next(&mut rng) {
                        Some(o) => { prop_assert!(o < size); prop_assert!(model.insert(o)); }
                        None => prop_assert_eq!(model.len() as u64, size),
                    }
                } else {
                    prop_assert_eq!(b.clear(v), model.remove(&v));
                }
                prop_assert_eq!(b.used(), model.len() as u64);
            }
        }
    }
}
