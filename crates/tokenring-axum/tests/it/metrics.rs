//! The metrics, through a recorder that keeps every counter and gauge by name and labels.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::Value;
use tokenring::ManualClock;

use crate::{auth_at, NOW};

type Values = Arc<Mutex<BTreeMap<String, f64>>>;

struct Cell {
    name: String,
    values: Values,
}

impl CounterFn for Cell {
    fn increment(&self, value: u64) {
        *self.values.lock().unwrap().entry(self.name.clone()).or_default() += value as f64;
    }
    fn absolute(&self, value: u64) {
        self.values.lock().unwrap().insert(self.name.clone(), value as f64);
    }
}

impl GaugeFn for Cell {
    fn increment(&self, value: f64) {
        *self.values.lock().unwrap().entry(self.name.clone()).or_default() += value;
    }
    fn decrement(&self, value: f64) {
        *self.values.lock().unwrap().entry(self.name.clone()).or_default() -= value;
    }
    fn set(&self, value: f64) {
        self.values.lock().unwrap().insert(self.name.clone(), value);
    }
}

#[derive(Default)]
struct Keeper {
    values: Values,
}

impl Keeper {
    fn cell(&self, key: &Key) -> Arc<Cell> {
        let labels: Vec<String> = key.labels().map(|label| format!("{}={}", label.key(), label.value())).collect();
        Arc::new(Cell { name: format!("{}{{{}}}", key.name(), labels.join(",")), values: Arc::clone(&self.values) })
    }
}

impl Recorder for Keeper {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell(key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn verifications_are_counted_by_result() {
    let keeper = Keeper::default();
    let values = Arc::clone(&keeper.values);
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let token = auth.issue(&serde_json::json!({"sub": "ada"}), 60).unwrap();
    let with = |authorization: &str| {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", authorization.parse().unwrap());
        headers
    };
    metrics::with_local_recorder(&keeper, || {
        for _ in 0..3 {
            assert!(auth.authenticate::<Value>(&with(&format!("Bearer {token}")), "/me").is_ok());
        }
        assert!(auth.authenticate::<Value>(&HeaderMap::new(), "/me").is_err());
        assert!(auth.authenticate::<Value>(&with("Bearer a.b.c"), "/me").is_err());
        clock.advance(3600);
        let expired = auth.authenticate::<Value>(&with(&format!("Bearer {token}")), "/me").unwrap_err();
        assert_eq!(expired.code(), "expired");
    });
    let values = values.lock().unwrap();
    let count = |labels: &str| values.get(&format!("tokenring_verifications_total{{result={labels}}}")).copied();
    assert_eq!(count("ok"), Some(3.0));
    assert_eq!(count("missing"), Some(1.0));
    assert_eq!(count("malformed"), Some(1.0));
    assert_eq!(count("expired"), Some(1.0));
}

#[tokio::test(flavor = "current_thread")]
async fn the_reloader_sets_the_key_gauge() {
    let keeper = Keeper::default();
    let values = Arc::clone(&keeper.values);
    let clock = Arc::new(ManualClock::new(NOW));
    let auth = auth_at(&clock);
    let reloader = metrics::with_local_recorder(&keeper, || {
        tokenring_axum::Reloader::spawn(&auth, tokenring_axum::ReloadOptions::new()).unwrap()
    });
    drop(reloader);
    let values = values.lock().unwrap();
    assert_eq!(values.get("tokenring_keys{state=active}"), Some(&1.0));
    assert_eq!(values.get("tokenring_keys{state=retired}"), Some(&0.0));
}
