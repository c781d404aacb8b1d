//! Unique devices over the event, estimated with HyperLogLog over client ids: 4 096 one-byte
//! registers (about 1.6 % standard error), and no id is ever kept.

use crate::privacy::ClientId;

/// Index bits: 2^12 registers.
const P: u32 = 12;
const M: usize = 1 << P;
/// The highest rank a register can hold: 64 − P bits, and the guard bit.
const MAX_RANK: u8 = (64 - P + 1) as u8;
/// [`UniqueEstimate::to_bytes`]: every register follows.
const DENSE: u8 = 1;
/// [`UniqueEstimate::to_bytes`]: (index, register) pairs follow.
const SPARSE: u8 = 2;

/// A HyperLogLog sketch over client ids (which are already uniform 64-bit hashes). Sketches
/// merge (the union of what each counted) and serialize ([`UniqueEstimate::to_bytes`]), so the
/// history keeps one per zone and hour and unique devices over any range and set of zones is
/// a merge: the ids themselves are never kept.
#[derive(Clone, PartialEq, Eq)]
pub struct UniqueEstimate {
    registers: Box<[u8; M]>,
}

impl Default for UniqueEstimate {
    fn default() -> Self {
        UniqueEstimate {
            registers: Box::new([0; M]),
        }
    }
}

impl std::fmt::Debug for UniqueEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UniqueEstimate")
            .field("estimate", &self.estimate())
            .finish()
    }
}

impl UniqueEstimate {
    /// Counts `id` (again or for the first time).
    pub fn insert(&mut self, id: ClientId) {
        let hash = id.as_u64();
        let index = (hash >> (64 - P)) as usize;
        // Rank of the first 1 bit in the remaining 52 bits (a guard bit bounds it at 53).
        let rest = (hash << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        if let Some(register) = self.registers.get_mut(index) {
            *register = (*register).max(rank);
        }
    }

    /// Adds everything `other` counted (the union of both sets).
    pub fn merge(&mut self, other: &UniqueEstimate) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// Nothing counted yet.
    pub fn is_empty(&self) -> bool {
        self.registers.iter().all(|r| *r == 0)
    }

    /// The registers in the smaller of two forms: `DENSE` and the 4 096 registers, or
    /// `SPARSE` and (index as 2 bytes big-endian, register) for each non-zero register, in
    /// index order (a room of a few hundred devices takes under 1 KiB).
    pub fn to_bytes(&self) -> Vec<u8> {
        let set = self.registers.iter().filter(|r| **r != 0).count();
        if 1 + set * 3 < 1 + M {
            let mut out = Vec::with_capacity(1 + set * 3);
            out.push(SPARSE);
            for (index, register) in self.registers.iter().enumerate() {
                if *register != 0 {
                    // M is 2^12: every index fits in two bytes.
                    out.extend_from_slice(&(index as u16).to_be_bytes());
                    out.push(*register);
                }
            }
            out
        } else {
            let mut out = Vec::with_capacity(1 + M);
            out.push(DENSE);
            out.extend_from_slice(&self.registers[..]);
            out
        }
    }

    /// The sketch [`UniqueEstimate::to_bytes`] wrote; `None` for bytes it cannot have
    /// written (an unknown form, a wrong length, an index or register out of range).
    pub fn from_bytes(bytes: &[u8]) -> Option<UniqueEstimate> {
        let (form, body) = bytes.split_first()?;
        let mut sketch = UniqueEstimate::default();
        match *form {
            DENSE if body.len() == M => sketch.registers.copy_from_slice(body),
            SPARSE if body.len() % 3 == 0 => {
                for entry in body.chunks_exact(3) {
                    let index = usize::from(u16::from_be_bytes([entry[0], entry[1]]));
                    let register = entry[2];
                    if register > MAX_RANK {
                        return None;
                    }
                    *sketch.registers.get_mut(index)? = register;
                }
            }
            _ => return None,
        }
        if sketch.registers.iter().any(|r| *r > MAX_RANK) {
            return None;
        }
        Some(sketch)
    }

    /// The estimated number of distinct ids inserted.
    pub fn estimate(&self) -> f64 {
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let sum: f64 = self
            .registers
            .iter()
            .map(|r| 2f64.powi(-i32::from(*r)))
            .sum();
        let raw = alpha * m * m / sum;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        if raw <= 2.5 * m && zeros > 0 {
            // Small range: linear counting is exact enough for a room of a few hundred.
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::ClientKey;

    fn ids(n: u32) -> impl Iterator<Item = ClientId> {
        let key = ClientKey::from_bytes([3; 16]);
        (0..n).map(move |i| {
            let b = i.to_be_bytes();
            key.client(&[0, 0x16, b[0], b[1], b[2], b[3]]).id
        })
    }

    #[test]
    fn small_counts_are_exact_after_rounding() {
        let mut hll = UniqueEstimate::default();
        assert_eq!(hll.estimate(), 0.0);
        for id in ids(30) {
            hll.insert(id);
            hll.insert(id);
        }
        assert_eq!(hll.estimate().round(), 30.0);
        let mut other = UniqueEstimate::default();
        ids(40).for_each(|id| other.insert(id));
        other.merge(&hll);
        assert_eq!(
            other.estimate().round(),
            40.0,
            "the first 30 are among the 40"
        );
    }

    #[test]
    fn sketches_survive_their_bytes_in_both_forms_and_merge_after() {
        let mut small = UniqueEstimate::default();
        assert_eq!(small.to_bytes(), [SPARSE]);
        assert!(small.is_empty());
        ids(300).for_each(|id| small.insert(id));
        let bytes = small.to_bytes();
        assert_eq!(bytes[0], SPARSE);
        assert!(bytes.len() < 1024, "{}", bytes.len());
        let back = UniqueEstimate::from_bytes(&bytes).expect("sparse");
        assert!(back == small);
        let mut large = UniqueEstimate::default();
        ids(20_000).for_each(|id| large.insert(id));
        let bytes = large.to_bytes();
        assert_eq!((bytes[0], bytes.len()), (DENSE, 1 + M));
        let mut merged = UniqueEstimate::from_bytes(&bytes).expect("dense");
        assert!(merged == large);
        merged.merge(&back);
        assert!(merged == large, "the 300 are among the 20 000");
    }

    #[test]
    fn bytes_a_sketch_cannot_have_written_are_refused() {
        for bad in [
            &[][..],
            &[9],
            &[DENSE, 1, 2],
            &[SPARSE, 0, 1],
            &[SPARSE, 0x10, 0x00, 1],
            &[SPARSE, 0, 1, MAX_RANK + 1],
        ] {
            assert!(UniqueEstimate::from_bytes(bad).is_none(), "{bad:?}");
        }
        let mut dense = vec![DENSE];
        dense.extend(std::iter::repeat_n(0xff, M));
        assert!(UniqueEstimate::from_bytes(&dense).is_none());
    }

    #[test]
    fn large_counts_are_within_five_percent() {
        for n in [5_000, 50_000] {
            let mut hll = UniqueEstimate::default();
            ids(n).for_each(|id| hll.insert(id));
            let error = (hll.estimate() - f64::from(n)).abs() / f64::from(n);
            assert!(
                error < 0.05,
                "{n}: estimate {} off by {error}",
                hll.estimate()
            );
        }
    }
}
