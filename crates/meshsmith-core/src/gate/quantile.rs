//! `histogram_quantile` as Prometheus computes it, over one histogram's cumulative buckets.

/// The `q` quantile (0..=1) of buckets given as (upper bound `le`, cumulative count), in any
/// order. `None` when there are fewer than two buckets, no `+Inf` bucket, or no observation.
///
/// As Prometheus: the rank is `q` times the `+Inf` bucket's count; the first bucket whose
/// count reaches it holds the answer, interpolated linearly between its lower bound (the
/// previous bucket's `le`, or 0) and its own `le`; a rank in the `+Inf` bucket answers the
/// highest finite bound. Counts that fall from one bucket to the next (series scraped at
/// slightly different times) are raised to the previous count first.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    let mut sorted: Vec<(f64, f64)> = buckets
        .iter()
        .copied()
        .filter(|(le, c)| !le.is_nan() && c.is_finite())
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Buckets of the same bound (from several files or series) add up.
    sorted.dedup_by(|later, first| {
        if later.0 == first.0 {
            first.1 += later.1;
            true
        } else {
            false
        }
    });
    if sorted.len() < 2 || sorted.last()?.0 != f64::INFINITY {
        return None;
    }
    for i in 1..sorted.len() {
        if sorted[i].1 < sorted[i - 1].1 {
            sorted[i].1 = sorted[i - 1].1;
        }
    }
    let total = sorted.last()?.1;
    if total <= 0.0 || q.is_nan() {
        return None;
    }
    if q < 0.0 {
        return Some(f64::NEG_INFINITY);
    }
    if q > 1.0 {
        return Some(f64::INFINITY);
    }
    let rank = q * total;
    let b = sorted.iter().position(|(_, c)| *c >= rank)?;
    if b == sorted.len() - 1 {
        return Some(sorted[sorted.len() - 2].0);
    }
    let (upper, count) = sorted[b];
    if b == 0 && upper <= 0.0 {
        return Some(upper);
    }
    let (lower, below) = if b == 0 { (0.0, 0.0) } else { sorted[b - 1] };
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below) / in_bucket))
}

#[cfg(test)]
mod tests {
    use super::histogram_quantile;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn interpolates_inside_the_bucket_that_holds_the_rank() {
        // 100 observations: 50 under 10 ms, 40 in (10, 100], 10 in (100, 1000].
        let b = [(10.0, 50.0), (100.0, 90.0), (1000.0, 100.0), (INF, 100.0)];
        assert_eq!(histogram_quantile(0.5, &b), Some(10.0));
        // Rank 99: 9 of the 10 in (100, 1000] -> 100 + 900 * 0.9.
        assert_eq!(histogram_quantile(0.99, &b), Some(910.0));
        // Rank 25 in the first bucket: from 0.
        assert_eq!(histogram_quantile(0.25, &b), Some(5.0));
    }

    #[test]
    fn a_rank_in_the_inf_bucket_answers_the_highest_finite_bound() {
        let b = [(10.0, 1.0), (100.0, 2.0), (INF, 100.0)];
        assert_eq!(histogram_quantile(0.99, &b), Some(100.0));
    }

    #[test]
    fn no_answer_without_observations_or_inf_bucket() {
        assert_eq!(histogram_quantile(0.5, &[(10.0, 0.0), (INF, 0.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[(10.0, 5.0), (20.0, 5.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[(INF, 5.0)]), None);
    }

    #[test]
    fn same_bounds_add_up_and_falling_counts_are_raised() {
        let b = [(10.0, 30.0), (INF, 50.0), (10.0, 20.0), (INF, 50.0)];
        assert_eq!(histogram_quantile(0.5, &b), Some(10.0));
        let falling = [(10.0, 60.0), (100.0, 50.0), (INF, 100.0)];
        assert_eq!(histogram_quantile(0.5, &falling), Some(10.0 * 50.0 / 60.0));
    }
}
