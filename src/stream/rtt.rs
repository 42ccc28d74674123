//! Round-trip time: how long a byte takes to be acknowledged, and how TCP turns those
//! measurements into a retransmission timeout (RFC 6298).
//!
//! # The idea
//!
//! A sender that hears nothing back has to guess: was the segment lost, or is the answer just
//! slow? It waits for a *retransmission timeout* (RTO) and then sends again. Too short a wait
//! floods the network with copies; too long a wait stalls the connection. So TCP measures.
//! Each time an acknowledgment comes back for a segment that was sent only once, the time
//! between the two is a *sample* of the round-trip time (`SampleRTT`). Samples jump around,
//! so TCP keeps a smoothed average and a measure of how much the samples vary:
//!
//! ```text
//! first sample R:     EstimatedRTT = R          DevRTT = R / 2
//! every later R:      DevRTT       = (1 - β) · DevRTT + β · |EstimatedRTT - R|     β = 1/4
//!                     EstimatedRTT = (1 - α) · EstimatedRTT + α · R                 α = 1/8
//! then:               RTO          = EstimatedRTT + 4 · DevRTT   (at least 1 second)
//! ```
//!
//! RFC 6298 calls EstimatedRTT `SRTT` and DevRTT `RTTVAR`; the names here are the ones most
//! textbooks use. DevRTT is updated first, with the *old* EstimatedRTT. A segment that was
//! sent more than once gives no sample (Karn's rule): nobody can tell which copy the
//! acknowledgment answers.
//!
//! A capture sees the round trip from where it was taken: next to the sender, an RTT sample is
//! the whole trip; next to the receiver, it is only the receiver's own delay in answering.

/// α, the weight of a new sample in EstimatedRTT (RFC 6298 § 2).
pub const ALPHA: f64 = 1.0 / 8.0;
/// β, the weight of a new deviation in DevRTT.
pub const BETA: f64 = 1.0 / 4.0;
/// K, how many deviations of headroom the timeout leaves.
pub const K: f64 = 4.0;
/// The smallest timeout RFC 6298 § 2.4 lets a sender use, in seconds.
pub const MIN_RTO: f64 = 1.0;

/// RFC 6298's estimator fed with RTT samples (in seconds), plus plain statistics of them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RttEstimator {
    /// Samples fed in.
    pub samples: u64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    /// EstimatedRTT (SRTT) after the last sample; `None` before the first.
    pub estimated: Option<f64>,
    /// DevRTT (RTTVAR) after the last sample.
    pub dev: f64,
}

impl RttEstimator {
    pub fn new() -> RttEstimator {
        RttEstimator::default()
    }

    /// Feed one sample, in seconds.
    pub fn sample(&mut self, r: f64) {
        if self.samples == 0 {
            self.min = r;
            self.max = r;
        } else {
            self.min = self.min.min(r);
            self.max = self.max.max(r);
        }
        self.samples += 1;
        self.sum += r;
        match self.estimated {
            None => {
                self.estimated = Some(r);
                self.dev = r / 2.0;
            }
            Some(srtt) => {
                self.dev = (1.0 - BETA) * self.dev + BETA * (srtt - r).abs();
                self.estimated = Some((1.0 - ALPHA) * srtt + ALPHA * r);
            }
        }
    }

    /// The mean of the samples.
    pub fn mean(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.sum / self.samples as f64)
    }

    /// EstimatedRTT + 4 · DevRTT, before the one-second floor.
    pub fn rto_raw(&self) -> Option<f64> {
        self.estimated.map(|s| s + K * self.dev)
    }

    /// The timeout a sender following RFC 6298 would use: at least one second.
    pub fn rto(&self) -> Option<f64> {
        self.rto_raw().map(|r| r.max(MIN_RTO))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// A worked example, done by hand first:
    ///
    /// ```text
    /// R1 = 100 ms: EstimatedRTT = 100 ms, DevRTT = 50 ms
    /// R2 = 120 ms: DevRTT = 3/4·50 + 1/4·|100 - 120| = 37.5 + 5 = 42.5 ms
    ///              EstimatedRTT = 7/8·100 + 1/8·120 = 87.5 + 15 = 102.5 ms
    /// R3 =  80 ms: DevRTT = 3/4·42.5 + 1/4·|102.5 - 80| = 31.875 + 5.625 = 37.5 ms
    ///              EstimatedRTT = 7/8·102.5 + 1/8·80 = 89.6875 + 10 = 99.6875 ms
    /// RTO = 99.6875 + 4·37.5 = 249.6875 ms, raised to the 1 s floor.
    /// ```
    #[test]
    fn sample_worked_example() {
        let mut e = RttEstimator::new();
        e.sample(0.100);
        assert!(close(e.estimated.unwrap(), 0.100));
        assert!(close(e.dev, 0.050));
        e.sample(0.120);
        assert!(close(e.dev, 0.0425));
        assert!(close(e.estimated.unwrap(), 0.1025));
        e.sample(0.080);
        assert!(close(e.dev, 0.0375));
        assert!(close(e.estimated.unwrap(), 0.0996875));
        assert!(close(e.rto_raw().unwrap(), 0.2496875));
        assert_eq!(e.rto(), Some(1.0));
        assert_eq!(e.samples, 3);
        assert!(close(e.min, 0.080));
        assert!(close(e.max, 0.120));
        assert!(close(e.mean().unwrap(), 0.100));
    }

    #[test]
    fn no_samples_no_estimate() {
        let e = RttEstimator::new();
        assert_eq!(e.estimated, None);
        assert_eq!(e.mean(), None);
        assert_eq!(e.rto(), None);
    }

    #[test]
    fn steady_samples_converge_and_deviation_shrinks() {
        let mut e = RttEstimator::new();
        for _ in 0..200 {
            e.sample(0.030);
        }
        assert!(close(e.estimated.unwrap(), 0.030));
        assert!(e.dev < 1e-9, "DevRTT decays towards 0: {}", e.dev);
    }
}
