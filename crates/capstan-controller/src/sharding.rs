//! Which controller replica handles which cluster: Argo CD's sharding algorithms as pure functions.
//! `legacy` hashes the cluster's id (FNV-1a, modulo the replica count), `round-robin` deals the
//! clusters, sorted by id, to the replicas in turn, and `consistent-hashing` places clusters on a
//! hash ring with bounded loads, so adding or removing a replica moves few clusters. A cluster
//! Secret's `shard` field pins the cluster (modulo the replica count).

use std::collections::BTreeMap;
use std::str::FromStr;

/// A sharding algorithm (`ARGOCD_CONTROLLER_SHARDING_ALGORITHM`, `--sharding-method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// FNV-1a of the cluster id modulo the replica count (Argo CD's default).
    #[default]
    Legacy,
    /// Clusters sorted by id, dealt in turn.
    RoundRobin,
    /// A hash ring with bounded loads.
    ConsistentHashing,
}

impl FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "legacy" | "" => Ok(Algorithm::Legacy),
            "round-robin" => Ok(Algorithm::RoundRobin),
            "consistent-hashing" => Ok(Algorithm::ConsistentHashing),
            other => Err(format!(
                "unknown sharding algorithm {other:?} (legacy, round-robin or consistent-hashing)"
            )),
        }
    }
}

/// A cluster to place: its id (the Secret's name; empty for the in-cluster destination) and its
/// pinned shard, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSlot {
    /// Stable id.
    pub id: String,
    /// `shard` of the cluster Secret.
    pub pinned: Option<u32>,
}

/// FNV-1a, 32 bits.
pub(crate) fn fnv1a(text: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in text.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The shard (0..replicas) of every cluster, by id.
pub fn assign(
    algorithm: Algorithm,
    clusters: &[ClusterSlot],
    replicas: u32,
) -> BTreeMap<String, u32> {
    let replicas = replicas.max(1);
    let mut out = BTreeMap::new();
    let mut free: Vec<&ClusterSlot> = Vec::new();
    for c in clusters {
        match c.pinned {
            Some(shard) => {
                out.insert(c.id.clone(), shard % replicas);
            }
            None => free.push(c),
        }
    }
    free.sort_by(|a, b| a.id.cmp(&b.id));
    free.dedup_by(|a, b| a.id == b.id);
    match algorithm {
        Algorithm::Legacy => {
            for c in free {
                out.insert(c.id.clone(), fnv1a(&c.id) % replicas);
            }
        }
        Algorithm::RoundRobin => {
            for (i, c) in free.into_iter().enumerate() {
                let shard = u32::try_from(i % replicas as usize).unwrap_or(0);
                out.insert(c.id.clone(), shard);
            }
        }
        Algorithm::ConsistentHashing => {
            // each replica owns several points of the ring; a cluster goes to the first replica
            // clockwise from its hash whose load is under the bound ceil(1.25 * average)
            const POINTS: u32 = 64;
            let mut ring: Vec<(u32, u32)> = (0..replicas)
                .flat_map(|r| (0..POINTS).map(move |p| (fnv1a(&format!("shard-{r}-{p}")), r)))
                .collect();
            ring.sort_unstable();
            let total = free.len() as u64 + out.len() as u64;
            let bound = (total * 5).div_ceil(u64::from(replicas) * 4).max(1);
            let mut load = vec![0u64; replicas as usize];
            for shard in out.values() {
                load[*shard as usize] += 1;
            }
            for c in free {
                let h = fnv1a(&c.id);
                let start = ring.partition_point(|(point, _)| *point < h);
                let mut chosen = None;
                for step in 0..ring.len() {
                    let (_, r) = ring[(start + step) % ring.len()];
                    if load[r as usize] < bound {
                        chosen = Some(r);
                        break;
                    }
                }
                let r = chosen.unwrap_or(0);
                load[r as usize] += 1;
                out.insert(c.id.clone(), r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(n: usize) -> Vec<ClusterSlot> {
        (0..n)
            .map(|i| ClusterSlot {
                id: format!("cluster-{i:02}"),
                pinned: None,
            })
            .collect()
    }

    fn loads(map: &BTreeMap<String, u32>, replicas: u32) -> Vec<usize> {
        (0..replicas)
            .map(|r| map.values().filter(|s| **s == r).count())
            .collect()
    }

    #[test]
    fn parses_argo_names() {
        assert_eq!("legacy".parse(), Ok(Algorithm::Legacy));
        assert_eq!("round-robin".parse(), Ok(Algorithm::RoundRobin));
        assert_eq!(
            "consistent-hashing".parse(),
            Ok(Algorithm::ConsistentHashing)
        );
        assert!(
            "random"
                .parse::<Algorithm>()
                .unwrap_err()
                .contains("random")
        );
    }

    #[test]
    fn fnv_matches_the_reference_values() {
        // FNV-1a 32 test vectors
        assert_eq!(fnv1a(""), 0x811c_9dc5);
        assert_eq!(fnv1a("a"), 0xe40c_292c);
        assert_eq!(fnv1a("foobar"), 0xbf9c_f968);
    }

    #[test]
    fn round_robin_is_balanced() {
        let map = assign(Algorithm::RoundRobin, &slots(10), 3);
        assert_eq!(loads(&map, 3), vec![4, 3, 3]);
        assert_eq!(map["cluster-00"], 0);
        assert_eq!(map["cluster-01"], 1);
    }

    #[test]
    fn every_algorithm_places_every_cluster_in_range() {
        for algorithm in [
            Algorithm::Legacy,
            Algorithm::RoundRobin,
            Algorithm::ConsistentHashing,
        ] {
            for replicas in 1..5 {
                let map = assign(algorithm, &slots(17), replicas);
                assert_eq!(map.len(), 17);
                assert!(map.values().all(|s| *s < replicas), "{algorithm:?}");
                // deterministic
                assert_eq!(map, assign(algorithm, &slots(17), replicas));
            }
        }
    }

    #[test]
    fn consistent_hashing_bounds_loads_and_moves_little() {
        let three = assign(Algorithm::ConsistentHashing, &slots(40), 3);
        let bound = (40 * 5usize).div_ceil(3 * 4);
        assert!(
            loads(&three, 3).iter().all(|l| *l <= bound),
            "{:?}",
            loads(&three, 3)
        );
        let four = assign(Algorithm::ConsistentHashing, &slots(40), 4);
        let moved = three.iter().filter(|(id, s)| four[*id] != **s).count();
        // round-robin would move most clusters; a ring moves far fewer
        let rr3 = assign(Algorithm::RoundRobin, &slots(40), 3);
        let rr4 = assign(Algorithm::RoundRobin, &slots(40), 4);
        let rr_moved = rr3.iter().filter(|(id, s)| rr4[*id] != **s).count();
        assert!(
            moved < rr_moved,
            "ring moved {moved}, round-robin {rr_moved}"
        );
    }

    #[test]
    fn pinned_shards_win() {
        let mut clusters = slots(4);
        clusters[2].pinned = Some(5);
        let map = assign(Algorithm::RoundRobin, &clusters, 2);
        assert_eq!(map["cluster-02"], 1);
    }
}
