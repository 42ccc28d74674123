//! Exercise: TCP's retransmission timeout from RTT samples (RFC 6298).
//!
//! Each sample R is one measured round trip, in seconds. TCP keeps two running values:
//!
//! ```text
//! first sample R:   EstimatedRTT = R                DevRTT = R / 2
//! each later R:     DevRTT       = (1 - β) · DevRTT + β · |EstimatedRTT - R|      β = 1/4
//!                   EstimatedRTT = (1 - α) · EstimatedRTT + α · R                 α = 1/8
//! after each:       TimeoutInterval = EstimatedRTT + 4 · DevRTT
//! ```
//!
//! Careful with the order: DevRTT is updated first, with the EstimatedRTT from *before* this
//! sample. (RFC 6298 then raises the timeout to at least one second; leave that out here.)
//!
//! Your job: complete `estimate` so that it returns, for each sample in turn, the three values
//! after it: `(EstimatedRTT, DevRTT, TimeoutInterval)`.
//!
//! Check your work with `wirelab check 11_congestion`; stuck? `wirelab hint rto`.

/// α, the weight of a new sample.
pub const ALPHA: f64 = 1.0 / 8.0;
/// β, the weight of a new deviation.
pub const BETA: f64 = 1.0 / 4.0;

/// (EstimatedRTT, DevRTT, TimeoutInterval) after each of `samples`, in seconds.
pub fn estimate(samples: &[f64]) -> Vec<(f64, f64, f64)> {
    // TODO: keep EstimatedRTT and DevRTT, update them for each sample, push the three values.
    let _ = (samples, ALPHA, BETA);
    Vec::new()
}
