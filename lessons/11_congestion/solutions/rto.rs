//! Reference solution: TCP's retransmission timeout from RTT samples (RFC 6298).

/// α, the weight of a new sample.
pub const ALPHA: f64 = 1.0 / 8.0;
/// β, the weight of a new deviation.
pub const BETA: f64 = 1.0 / 4.0;

/// (EstimatedRTT, DevRTT, TimeoutInterval) after each of `samples`, in seconds.
pub fn estimate(samples: &[f64]) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::with_capacity(samples.len());
    let mut state: Option<(f64, f64)> = None;
    for &r in samples {
        let (est, dev) = match state {
            None => (r, r / 2.0),
            Some((est, dev)) => {
                // DevRTT first, with the old EstimatedRTT.
                let dev = (1.0 - BETA) * dev + BETA * (est - r).abs();
                let est = (1.0 - ALPHA) * est + ALPHA * r;
                (est, dev)
            }
        };
        state = Some((est, dev));
        out.push((est, dev, est + 4.0 * dev));
    }
    out
}
