//! The server's counters and the `/metrics` page in Prometheus' text format (version 0.0.4):
//! requests by path and status, a latency histogram of `/invocations`, rows predicted, requests
//! in flight, model reloads, and which model version is serving. Plain atomics, no registry
//! crate: the page is small and fixed.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The paths counted by name; anything else is counted as `other`, so a scan of random URLs
/// cannot grow the page.
const PATHS: [&str; 6] = [
    "/invocations",
    "/ping",
    "/health",
    "/version",
    "/metrics",
    "other",
];

#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
    rows: AtomicU64,
    in_flight: AtomicU64,
    swaps: AtomicU64,
    failed_reloads: AtomicU64,
}

/// The model line of the page: which model and version answer.
pub struct ModelInfo<'a> {
    pub label: &'a str,
    pub version: &'a str,
    pub md5: &'a str,
}

impl Metrics {
    /// One answered request.
    pub fn record(&self, path: &str, status: u16, elapsed: Duration) {
        let path = PATHS
            .iter()
            .copied()
            .find(|p| *p == path)
            .unwrap_or("other");
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((path, status)).or_default() += 1;
        }
        if path == "/invocations" {
            let secs = elapsed.as_secs_f64();
            for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
                if secs <= *bound {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            self.latency_count.fetch_add(1, Ordering::Relaxed);
            self.latency_sum_micros
                .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        }
    }

    pub fn add_rows(&self, n: usize) {
        self.rows.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn enter(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub fn leave(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn swapped(&self) {
        self.swaps.fetch_add(1, Ordering::Relaxed);
    }

    pub fn reload_failed(&self) {
        self.failed_reloads.fetch_add(1, Ordering::Relaxed);
    }

    /// The number of requests answered with `status` on `path` so far.
    pub fn count(&self, path: &str, status: u16) -> u64 {
        self.requests
            .lock()
            .map(|m| {
                m.iter()
                    .filter(|((p, s), _)| *p == path && *s == status)
                    .map(|(_, n)| *n)
                    .sum()
            })
            .unwrap_or(0)
    }

    /// The page.
    pub fn render(&self, model: Option<ModelInfo<'_>>) -> String {
        let mut out = String::with_capacity(2048);
        out.push_str(
            "# HELP vintner_serve_requests_total Requests answered, by path and status code.\n\
             # TYPE vintner_serve_requests_total counter\n",
        );
        if let Ok(map) = self.requests.lock() {
            for ((path, status), n) in map.iter() {
                let _ = writeln!(
                    out,
                    "vintner_serve_requests_total{{path=\"{path}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str(
            "# HELP vintner_serve_request_duration_seconds Time to answer /invocations.\n\
             # TYPE vintner_serve_request_duration_seconds histogram\n",
        );
        for (bound, count) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "vintner_serve_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "vintner_serve_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n\
             vintner_serve_request_duration_seconds_sum {}\n\
             vintner_serve_request_duration_seconds_count {count}",
            self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let counters = [
            (
                "vintner_serve_rows_predicted_total",
                "counter",
                "Rows predicted.",
                self.rows.load(Ordering::Relaxed),
            ),
            (
                "vintner_serve_requests_in_flight",
                "gauge",
                "Requests being answered now.",
                self.in_flight.load(Ordering::Relaxed),
            ),
            (
                "vintner_serve_model_swaps_total",
                "counter",
                "Times a new model version was swapped in.",
                self.swaps.load(Ordering::Relaxed),
            ),
            (
                "vintner_serve_model_reload_failures_total",
                "counter",
                "Times a new model version could not be fetched, verified or loaded.",
                self.failed_reloads.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        if let Some(m) = model {
            let _ = writeln!(
                out,
                "# HELP vintner_serve_model_info The model answering requests.\n\
                 # TYPE vintner_serve_model_info gauge\n\
                 vintner_serve_model_info{{model=\"{}\",version=\"{}\",md5=\"{}\"}} 1",
                label(m.label),
                label(m.version),
                label(m.md5)
            );
        }
        out
    }
}

/// A label value escaped as the text format requires.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_counts_requests_and_buckets_latency() {
        let m = Metrics::default();
        m.record("/invocations", 200, Duration::from_micros(700));
        m.record("/invocations", 400, Duration::from_millis(30));
        m.record("/nope", 404, Duration::ZERO);
        m.add_rows(7);
        let page = m.render(Some(ModelInfo {
            label: "wine@champion",
            version: "3",
            md5: "ab\"c",
        }));
        assert!(
            page.contains("vintner_serve_requests_total{path=\"/invocations\",status=\"200\"} 1")
        );
        assert!(page.contains("vintner_serve_requests_total{path=\"other\",status=\"404\"} 1"));
        assert!(page.contains("vintner_serve_request_duration_seconds_bucket{le=\"0.0005\"} 0"));
        assert!(page.contains("vintner_serve_request_duration_seconds_bucket{le=\"0.001\"} 1"));
        assert!(page.contains("vintner_serve_request_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(page.contains("vintner_serve_request_duration_seconds_count 2"));
        assert!(page.contains("vintner_serve_rows_predicted_total 7"));
        assert!(page.contains("md5=\"ab\\\"c\"} 1"));
        assert_eq!(m.count("/invocations", 400), 1);
    }
}
