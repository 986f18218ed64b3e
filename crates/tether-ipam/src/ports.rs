//! Port ranges: NodePorts and healthCheckNodePorts.

use std::ops::RangeInclusive;

use rand::Rng;

use crate::{Bitmap, Error};

/// An inclusive port range with upstream's static band `min(max(16, size/32), 128)` (KEP-3668):
/// 30000-32767 gives the band 30000-30085.
#[derive(Debug, Clone)]
pub struct PortRange {
    first: u16,
    last: u16,
    map: Bitmap,
}

impl PortRange {
    /// A range from `first` to `last` inclusive.
    pub fn new(range: RangeInclusive<u16>) -> Result<Self, Error> {
        let (first, last) = (*range.start(), *range.end());
        if first == 0 || last < first {
            return Err(Error::InvalidRange(format!("{first}-{last}")));
        }
        let size = u64::from(last - first) + 1;
        let band = (size / 32).clamp(16, 128).min(size);
        Ok(Self {
            first,
            last,
            map: Bitmap::new(size, band),
        })
    }

    /// Parses `30000-32767` (or a single port).
    pub fn parse(s: &str) -> Result<Self, Error> {
        let bad = || Error::InvalidRange(s.to_owned());
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let a: u16 = a.trim().parse().map_err(|_| bad())?;
        let b: u16 = b.trim().parse().map_err(|_| bad())?;
        Self::new(a..=b)
    }

    /// First port.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// Last port.
    pub fn last(&self) -> u16 {
        self.last
    }

    /// Whether `port` lies in the range.
    pub fn contains(&self, port: i32) -> bool {
        port >= i32::from(self.first) && port <= i32::from(self.last)
    }

    fn offset(&self, port: i32) -> Option<u64> {
        self.contains(port)
            .then(|| u64::try_from(port - i32::from(self.first)).ok())
            .flatten()
    }

    /// Reserves a specific port.
    pub fn allocate(&mut self, port: i32) -> Result<(), Error> {
        let o = self
            .offset(port)
            .ok_or(Error::OutOfRange { what: "port" })?;
        if self.map.set(o) {
            Ok(())
        } else {
            Err(Error::Allocated { what: "port" })
        }
    }

    /// Reserves any free port.
    pub fn allocate_next(&mut self, rng: &mut impl Rng) -> Result<i32, Error> {
        let o = self.map.allocate_next(rng).ok_or(Error::Full)?;
        Ok(i32::from(self.first) + i32::try_from(o).unwrap_or(0))
    }

    /// Frees a port.
    pub fn release(&mut self, port: i32) {
        if let Some(o) = self.offset(port) {
            self.map.clear(o);
        }
    }

    /// Whether `port` is reserved.
    pub fn has(&self, port: i32) -> bool {
        self.offset(port).is_some_and(|o| self.map.has(o))
    }

    /// Ports still free.
    pub fn free(&self) -> u64 {
        self.map.free()
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_range_band() {
        let mut r = PortRange::parse("30000-32767").unwrap();
        let mut rng = rand::rng();
        for _ in 0..(2768 - 86) {
            let p = r.allocate_next(&mut rng).unwrap();
            assert!(p >= 30086, "{p} in the static band 30000-30085");
        }
        let p = r.allocate_next(&mut rng).unwrap();
        assert!((30000..=30085).contains(&p));
        assert!(!r.contains(29999));
        assert_eq!(r.allocate(80), Err(Error::OutOfRange { what: "port" }));
    }
}
