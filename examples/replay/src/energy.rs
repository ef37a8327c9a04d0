//! Modelled energy: location power by request priority, and the LTE radio as a state machine
//! (promotion, transfer, tail), following `DESIGN.md` ("Measuring").
//!
//! Sources: GNSS receiver 143-166 mW (Chen & Tan, arXiv 1503.02656); LTE promotion 0.26 s at
//! 1.21 W and a ~10 s tail at ~1.06 W (Huang et al., MobiSys 2012, AT&T ARO). An upload that
//! starts inside a tail pays no promotion and only extends the tail, so fewer, larger uploads
//! win. The non-GNSS priorities are this project's assumptions, stated in the report.

use serde_json::{Value, json};
use tracelet_core::policy::Priority;

/// Every constant of the model, printed beside the figures it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct EnergyModel {
    /// Location power while a request of that priority is active, watts.
    pub high_accuracy_w: f64,
    pub balanced_w: f64,
    pub low_power_w: f64,
    pub passive_w: f64,
    pub promotion_s: f64,
    pub promotion_w: f64,
    /// Request and response on an already promoted radio (a few round trips).
    pub transfer_s: f64,
    pub transfer_w: f64,
    pub tail_s: f64,
    pub tail_w: f64,
    pub payload_j_per_kb: f64,
}

impl Default for EnergyModel {
    fn default() -> Self {
        EnergyModel {
            high_accuracy_w: 0.150,
            // Assumed: Wi-Fi scans and cell, duty-cycled by the fused provider.
            balanced_w: 0.030,
            // Assumed: cell-tower positioning only.
            low_power_w: 0.008,
            // No requests of our own; other apps pay for what we overhear.
            passive_w: 0.0,
            promotion_s: 0.26,
            promotion_w: 1.21,
            transfer_s: 0.35,
            transfer_w: 1.29,
            tail_s: 10.0,
            tail_w: 1.06,
            payload_j_per_kb: 0.005,
        }
    }
}

impl EnergyModel {
    pub fn location_w(&self, priority: Priority) -> f64 {
        match priority {
            Priority::HighAccuracy => self.high_accuracy_w,
            Priority::Balanced => self.balanced_w,
            Priority::LowPower => self.low_power_w,
            Priority::Passive => self.passive_w,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "location_w": {
                "high_accuracy": self.high_accuracy_w,
                "balanced": self.balanced_w,
                "low_power": self.low_power_w,
                "passive": self.passive_w,
            },
            "radio": {
                "promotion_s": self.promotion_s,
                "promotion_w": self.promotion_w,
                "transfer_s": self.transfer_s,
                "transfer_w": self.transfer_w,
                "tail_s": self.tail_s,
                "tail_w": self.tail_w,
                "payload_j_per_kb": self.payload_j_per_kb,
            },
            "sources": "GNSS: Chen & Tan arXiv 1503.02656; LTE: Huang et al. MobiSys 2012 (AT&T ARO); balanced/low_power/passive: assumed",
        })
    }
}

/// The LTE radio: idle, promoting, transferring, or in its high-power tail.
#[derive(Debug, Clone)]
pub struct Radio {
    model: EnergyModel,
    /// End of the last transfer, seconds.
    busy_until: f64,
    /// End of the current tail; before `busy_until` there is none yet.
    tail_until: f64,
    pub energy_j: f64,
    pub on_s: f64,
    pub promotions: u64,
}

impl Radio {
    pub fn new(model: EnergyModel) -> Radio {
        Radio {
            model,
            busy_until: f64::NEG_INFINITY,
            tail_until: f64::NEG_INFINITY,
            energy_j: 0.0,
            on_s: 0.0,
            promotions: 0,
        }
    }

    /// One upload of `bytes` starting at `time_s`. Uploads must come in time order.
    pub fn upload(&mut self, time_s: f64, bytes: u64) {
        let m = self.model.clone();
        let start = if time_s >= self.tail_until {
            self.close_tail(self.tail_until);
            self.promotions += 1;
            self.energy_j += m.promotion_s * m.promotion_w;
            self.on_s += m.promotion_s;
            time_s + m.promotion_s
        } else {
            // Inside the tail (or queued behind a transfer): the tail so far was spent.
            let start = time_s.max(self.busy_until);
            self.close_tail(start);
            start
        };
        self.busy_until = start + m.transfer_s;
        self.tail_until = self.busy_until + m.tail_s;
        self.energy_j += m.transfer_s * m.transfer_w + bytes as f64 / 1024.0 * m.payload_j_per_kb;
        self.on_s += m.transfer_s;
    }

    /// Ends the run: the last tail is paid in full.
    pub fn finish(&mut self) {
        self.close_tail(self.tail_until);
        self.busy_until = f64::NEG_INFINITY;
        self.tail_until = f64::NEG_INFINITY;
    }

    fn close_tail(&mut self, until: f64) {
        let spent = (until.min(self.tail_until) - self.busy_until).max(0.0);
        if spent.is_finite() {
            self.energy_j += spent * self.model.tail_w;
            self.on_s += spent;
        }
        // The tail up to here is accounted; what follows starts from `until`.
        self.busy_until = self.busy_until.max(until.min(self.tail_until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_isolated_upload_costs_about_11_4_j() {
        let mut radio = Radio::new(EnergyModel::default());
        radio.upload(100.0, 1024);
        radio.finish();
        assert!((radio.energy_j - 11.4).abs() < 0.2, "{}", radio.energy_j);
        assert!((radio.on_s - 10.61).abs() < 0.01);
        assert_eq!(radio.promotions, 1);
    }

    #[test]
    fn two_uploads_far_apart_pay_twice_and_close_ones_share_a_tail() {
        let mut apart = Radio::new(EnergyModel::default());
        apart.upload(0.0, 1024);
        apart.upload(60.0, 1024);
        apart.finish();
        let mut close = Radio::new(EnergyModel::default());
        close.upload(0.0, 1024);
        close.upload(5.0, 1024);
        close.finish();
        assert_eq!(apart.promotions, 2);
        assert_eq!(close.promotions, 1);
        assert!(close.energy_j < apart.energy_j - 5.0);
    }

    #[test]
    fn uploads_every_few_seconds_keep_the_radio_on_at_about_1_w() {
        let mut radio = Radio::new(EnergyModel::default());
        let hour_s = 3600.0;
        let mut t = 0.0;
        while t < hour_s {
            radio.upload(t, 512);
            t += 3.0;
        }
        radio.finish();
        let watts = radio.energy_j / hour_s;
        assert!((0.95..1.2).contains(&watts), "{watts}");
        assert_eq!(radio.promotions, 1);
    }
}
