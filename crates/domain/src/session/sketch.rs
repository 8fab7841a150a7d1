//! A fixed-size, order-independent sketch of the event ids a session has seen, used to estimate
//! how many events fell off the capped event list.

use std::fmt;

const WORDS: usize = 64;
/// 4096 bits (512 bytes when stored).
const BITS: usize = WORDS * 64;

/// A bitmap with one bit set per hashed event id (linear counting). Union is bitwise OR, so it is
/// commutative, associative and idempotent like the rest of [`super::SessionSummary`]; the hash is
/// fixed (FNV-1a + a 64-bit finaliser), so stored sketches stay valid across releases.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdSketch([u64; WORDS]);

impl Default for IdSketch {
    fn default() -> Self {
        Self([0; WORDS])
    }
}

impl fmt::Debug for IdSketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdSketch({} bits set)", self.bits_set())
    }
}

fn hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits are weak; mix before taking them.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl IdSketch {
    /// Length of [`IdSketch::to_bytes`].
    pub const BYTES: usize = WORDS * 8;

    /// Adds an id; returns whether the sketch changed.
    pub fn insert(&mut self, id: &str) -> bool {
        let bit = (hash(id) % BITS as u64) as usize;
        match self.0.get_mut(bit / 64) {
            Some(word) => {
                let before = *word;
                *word |= 1 << (bit % 64);
                *word != before
            }
            None => false,
        }
    }

    pub fn union(&mut self, other: &IdSketch) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0.iter()) {
            *mine |= theirs;
        }
    }

    pub fn bits_set(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Estimated number of distinct ids inserted: exact while no two ids share a bit, within a few
    /// percent for the few hundred events a long session produces.
    pub fn estimate(&self) -> u32 {
        let set = self.bits_set();
        let bits = BITS as f64;
        let zeros = bits - f64::from(set);
        if zeros < 1.0 {
            // Saturated: report the largest estimate the bitmap can express.
            return (bits * bits.ln()).round() as u32;
        }
        let estimate = (-bits * (zeros / bits).ln()).round() as u32;
        estimate.max(set)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// Reads a stored sketch; an empty slice is an empty sketch (rows written before sketches).
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.is_empty() {
            return Some(Self::default());
        }
        if bytes.len() != Self::BYTES {
            return None;
        }
        let mut words = [0u64; WORDS];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            *word = u64::from_le_bytes(buf);
        }
        Some(Self(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_tracks_distinct_ids_and_ignores_repeats() {
        let mut sketch = IdSketch::default();
        for round in 0..3 {
            for i in 0..300 {
                sketch.insert(&format!("event-{i}"));
            }
            let est = sketch.estimate();
            assert!((290..=310).contains(&est), "round {round}: {est}");
        }
    }

    #[test]
    fn round_trips_through_bytes() {
        let mut sketch = IdSketch::default();
        sketch.insert("a");
        sketch.insert("b");
        let bytes = sketch.to_bytes();
        assert_eq!(bytes.len(), IdSketch::BYTES);
        assert_eq!(IdSketch::from_bytes(&bytes), Some(sketch));
        assert_eq!(IdSketch::from_bytes(&[]), Some(IdSketch::default()));
        assert_eq!(IdSketch::from_bytes(&[1, 2, 3]), None);
    }
}
