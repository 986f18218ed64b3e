//! Backend selection: which endpoint a new connection tries first, second, …
//!
//! Selection returns a preference *order* rather than a single pick (pingora's
//! `BackendIter`), so the forwarder can retry the next candidate when a connect is refused.
//!
//! # Why power of two choices is the default
//!
//! - **Round robin** ignores load: a slow or stuck backend keeps getting its full share, and
//!   long-lived connections pile up on whichever backends happened to get them.
//! - **Least connections** reacts to load but is deterministic: every proxy instance (one
//!   per node) sends *all* its new connections to the same least-loaded backend until the
//!   counts move, so a freshly added, empty backend is stampeded (herding), and ties need a
//!   tie-breaker anyway.
//! - **Power of two choices** (Mitzenmacher 2001; linkerd's and Envoy's default
//!   `LEAST_REQUEST`) samples two backends at random and takes the one with fewer
//!   in-flight connections. The maximum load is exponentially better than random choice,
//!   the randomness avoids herding across independent proxies, and the pick itself is
//!   two random draws whatever the endpoint count (the retry candidates behind it are
//!   sorted by load). With short sequential connections (everything idle) it
//!   degrades gracefully to uniform random.

use rand::Rng;

/// How a frontend spreads new connections (or UDP flows) over its eligible backends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// Each new connection goes to the next backend in turn.
    RoundRobin,
    /// The backend with the fewest in-flight connections; ties go round robin.
    LeastConnections,
    /// Two random backends, the one with fewer in-flight connections wins (default).
    #[default]
    PowerOfTwoChoices,
}

/// Orders candidate indices `0..loads.len()` by preference, where `loads[i]` is candidate
/// `i`'s in-flight count and `turn` a per-frontend counter that advances once per pick
/// (round robin position and tie-breaker).
pub(crate) fn order<R: Rng + ?Sized>(
    algorithm: Algorithm,
    loads: &[usize],
    turn: usize,
    rng: &mut R,
) -> Vec<usize> {
    let n = loads.len();
    if n == 0 {
        return Vec::new();
    }
    let rotated = (0..n).map(|i| (turn.wrapping_add(i)) % n);
    match algorithm {
        Algorithm::RoundRobin => rotated.collect(),
        Algorithm::LeastConnections => {
            let mut order: Vec<usize> = rotated.collect();
            // Stable: equal loads keep the rotated (round robin) order.
            order.sort_by_key(|&i| loads[i]);
            order
        }
        Algorithm::PowerOfTwoChoices => {
            let mut order: Vec<usize> = (0..n).collect();
            // Two random samples (a partial Fisher-Yates: two draws, not a full shuffle).
            for k in 0..n.min(2) {
                let j = rng.random_range(k..n);
                order.swap(k, j);
            }
            if n >= 2 && loads[order[1]] < loads[order[0]] {
                order.swap(0, 1);
            }
            // The rest are only retry candidates: least loaded first, ties in the rotated
            // (round robin) order, as LeastConnections breaks them, so retries among equally
            // loaded backends do not all go to the lowest index.
            if n > 2 {
                let (a, b) = (order[0], order[1]);
                let mut tail: Vec<usize> = rotated.filter(|&i| i != a && i != b).collect();
                tail.sort_by_key(|&i| loads[i]);
                order.truncate(2);
                order.extend(tail);
            }
            order
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
    }

    #[test]
    fn every_algorithm_returns_a_permutation() {
        let mut rng = StdRng::seed_from_u64(7);
        for algorithm in [
            Algorithm::RoundRobin,
            Algorithm::LeastConnections,
            Algorithm::PowerOfTwoChoices,
        ] {
            for n in 0..6 {
                let loads: Vec<usize> = (0..n).map(|i| (i * 7) % 3).collect();
                for turn in 0..10 {
                    let o = order(algorithm, &loads, turn, &mut rng);
                    assert!(is_permutation(&o, n), "{algorithm:?} {o:?}");
                }
            }
        }
    }

    #[test]
    fn round_robin_rotates() {
        let mut rng = StdRng::seed_from_u64(1);
        let loads = [5, 0, 9];
        let firsts: Vec<usize> = (0..6)
            .map(|t| order(Algorithm::RoundRobin, &loads, t, &mut rng)[0])
            .collect();
        assert_eq!(firsts, [0, 1, 2, 0, 1, 2]);
        assert_eq!(order(Algorithm::RoundRobin, &loads, 1, &mut rng), [1, 2, 0]);
    }

    #[test]
    fn least_connections_prefers_idle_and_rotates_ties() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            order(Algorithm::LeastConnections, &[3, 1, 2], 0, &mut rng),
            [1, 2, 0]
        );
        let firsts: Vec<usize> = (0..3)
            .map(|t| order(Algorithm::LeastConnections, &[0, 0, 0], t, &mut rng)[0])
            .collect();
        assert_eq!(firsts, [0, 1, 2]);
    }

    #[test]
    fn p2c_never_picks_the_most_loaded_of_three_first() {
        let mut rng = StdRng::seed_from_u64(42);
        let loads = [10, 0, 5];
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            counts[order(Algorithm::PowerOfTwoChoices, &loads, 0, &mut rng)[0]] += 1;
        }
        // Index 0 loses every pair it is in; index 1 wins every pair (2/3 of picks),
        // index 2 wins only against 0 (1/3).
        assert_eq!(counts[0], 0);
        assert!((1800..2200).contains(&counts[1]), "{counts:?}");
        assert!((800..1200).contains(&counts[2]), "{counts:?}");
    }

    #[test]
    fn p2c_with_equal_loads_is_uniform() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut counts = [0usize; 4];
        for _ in 0..4000 {
            counts[order(Algorithm::PowerOfTwoChoices, &[0; 4], 0, &mut rng)[0]] += 1;
        }
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn p2c_retry_candidates_spread_over_equally_loaded_backends() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut third = [0usize; 6];
        for turn in 0..600 {
            let o = order(Algorithm::PowerOfTwoChoices, &[0; 6], turn, &mut rng);
            third[o[2]] += 1;
        }
        // Every backend is sometimes the first retry, none almost always.
        assert!(third.iter().all(|&c| c > 30 && c < 250), "{third:?}");
        // Loads still decide before the rotation does.
        let o = order(
            Algorithm::PowerOfTwoChoices,
            &[5, 5, 5, 0, 5, 5],
            1,
            &mut rng,
        );
        assert!(o[..3].contains(&3), "{o:?}");
    }
}
