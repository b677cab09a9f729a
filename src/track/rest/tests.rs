//! REST client tests against a scripted in-process HTTP server (the real `mlflow server` is
//! exercised in tests/it/track.rs): retries, auth headers, batch chunking, error mapping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    auth: Option<String>,
    body: String,
}

/// Serves `script` responses in order (then repeats the last), recording each request.
fn serve(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            let (mut len, mut auth) = (0usize, None);
            loop {
                let mut h = String::new();
                reader.read_line(&mut h).unwrap();
                if h.trim().is_empty() {
                    break;
                }
                let (k, v) = h.split_once(':').unwrap();
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap(),
                    "authorization" => auth = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            log.lock().unwrap().push(Seen {
                method,
                path,
                auth,
                body: String::from_utf8_lossy(&body).into(),
            });
            let (status, text) = script[i.min(script.len() - 1)];
            let resp = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            stream.write_all(resp.as_bytes()).unwrap();
        }
    });
    (url, seen)
}

fn tracker(url: &str, vars: &[(&str, &str)]) -> RestTracker {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let mut cfg = RestConfig::from_env(url, &move |k| {
        vars.iter().find(|(a, _)| a == k).map(|(_, b)| b.clone())
    })
    .unwrap();
    cfg.backoff_factor = 0.01;
    cfg.backoff_jitter = 0.0;
    cfg.timeout = Duration::from_secs(10);
    RestTracker::connect(cfg).unwrap()
}

#[test]
fn retries_503_and_429_then_succeeds() {
    let (url, seen) = serve(vec![(503, "{}"), (429, "{}"), (200, "{}")]);
    let t = tracker(&url, &[]);
    t.log_batch("r1", &[Metric::new("a", 1.0, 1, 0)], &[], &[])
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn retries_are_bounded_and_client_errors_are_not_retried() {
    let (url, seen) = serve(vec![(
        500,
        r#"{"error_code":"INTERNAL_ERROR","message":"boom"}"#,
    )]);
    let t = tracker(&url, &[("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")]);
    let e = t.delete_run("r1").unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 3, "1 try + 2 retries");
    assert!(
        e.to_string().contains("INTERNAL_ERROR") && e.to_string().contains("boom"),
        "{e}"
    );

    let msg = r#"{"error_code": "INVALID_PARAMETER_VALUE", "message": "Changing param values is not allowed."}"#;
    let (url, seen) = serve(vec![(400, msg)]);
    let e = tracker(&url, &[])
        .log_batch("r1", &[], &[Param::new("lr", "2")], &[])
        .unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(e.to_string().contains("Changing param values"), "{e}");
}

#[test]
fn errors_map_to_not_found_and_auth() {
    let nf = r#"{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "Run with id=x not found"}"#;
    let (url, _) = serve(vec![(404, nf)]);
    assert!(matches!(
        tracker(&url, &[]).get_run("x"),
        Err(Error::NotFound { kind: "run", .. })
    ));
    let (url, _) = serve(vec![(404, nf)]);
    assert_eq!(
        tracker(&url, &[]).get_experiment_by_name("nope").unwrap(),
        None
    );
    let (url, _) = serve(vec![(401, "")]);
    let e = tracker(&url, &[]).get_run("x").unwrap_err();
    assert!(matches!(e, Error::Auth { status: 401, .. }));
    assert!(e.hint().unwrap().contains("MLFLOW_TRACKING_TOKEN"), "{e}");
    let (url, _) = serve(vec![(404, "<html>Not Found</html>")]);
    let e = tracker(&url, &[]).get_run("x").unwrap_err();
    assert!(e.to_string().contains("MLflow tracking server"), "{e}");
}

#[test]
fn sends_basic_or_bearer_auth() {
    let (url, seen) = serve(vec![(200, "{}")]);
    tracker(
        &url,
        &[
            ("MLFLOW_TRACKING_USERNAME", "u"),
            ("MLFLOW_TRACKING_PASSWORD", "p"),
            ("MLFLOW_TRACKING_TOKEN", "t"),
        ],
    )
    .delete_run("r")
    .unwrap();
    assert_eq!(seen.lock().unwrap()[0].auth.as_deref(), Some("Basic dTpw"));
    let (url, seen) = serve(vec![(200, "{}")]);
    tracker(&url, &[("MLFLOW_TRACKING_TOKEN", "t")])
        .delete_run("r")
        .unwrap();
    assert_eq!(seen.lock().unwrap()[0].auth.as_deref(), Some("Bearer t"));
    assert_eq!(seen.lock().unwrap()[0].path, "/api/2.0/mlflow/runs/delete");
}

#[test]
fn log_batch_is_chunked_to_mlflow_limits() {
    let (url, seen) = serve(vec![(200, "{}")]);
    let metrics: Vec<Metric> = (0..2500)
        .map(|i| Metric::new("m", i as f64, i, i))
        .collect();
    let params: Vec<Param> = (0..150).map(|i| Param::new(format!("p{i}"), "v")).collect();
    let tags: Vec<Tag> = (0..30).map(|i| Tag::new(format!("t{i}"), "v")).collect();
    tracker(&url, &[])
        .log_batch("r1", &metrics, &params, &tags)
        .unwrap();
    let seen = seen.lock().unwrap();
    let mut totals = (0, 0, 0);
    for s in seen.iter() {
        assert_eq!(
            (s.method.as_str(), s.path.as_str()),
            ("POST", "/api/2.0/mlflow/runs/log-batch")
        );
        let v: Value = serde_json::from_str(&s.body).unwrap();
        let n = |k: &str| v[k].as_array().map(|a| a.len()).unwrap_or(0);
        assert!(n("metrics") <= 1000 && n("params") <= 100 && n("tags") <= 100);
        assert!(n("metrics") + n("params") + n("tags") <= 1000);
        totals = (
            totals.0 + n("metrics"),
            totals.1 + n("params"),
            totals.2 + n("tags"),
        );
    }
    assert_eq!(totals, (2500, 150, 30));
    assert_eq!(seen.len(), 3);
}

#[test]
fn nan_and_inf_are_sent_as_mlflow_strings() {
    let (url, seen) = serve(vec![(200, "{}")]);
    tracker(&url, &[])
        .log_batch(
            "r",
            &[
                Metric::new("a", f64::NAN, 1, 0),
                Metric::new("b", f64::NEG_INFINITY, 1, 0),
            ],
            &[],
            &[],
        )
        .unwrap();
    let body = seen.lock().unwrap()[0].body.clone();
    assert!(
        body.contains(r#""value":"NaN""#) && body.contains(r#""value":"-Infinity""#),
        "{body}"
    );
}

#[test]
fn decodes_runs_with_omitted_defaults() {
    let run = r#"{"run": {"info": {"run_uuid": "abc", "experiment_id": "1", "run_name": "n", "status": "FINISHED",
        "start_time": 5, "artifact_uri": "mlflow-artifacts:/1/abc/artifacts", "lifecycle_stage": "active"},
        "data": {"metrics": [{"key": "w", "value": "NaN", "timestamp": 1}, {"key": "a", "value": 0.5, "timestamp": "7", "step": 2}],
        "params": [{"key": "lr", "value": "0.1"}], "tags": [{"key": "mlflow.runName", "value": "n"}]}}}"#;
    let (url, _) = serve(vec![(200, run)]);
    let r = tracker(&url, &[]).get_run("abc").unwrap();
    assert_eq!(r.info.run_id, "abc");
    assert_eq!(r.info.end_time, None);
    assert_eq!(r.data.metrics[0], Metric::new("a", 0.5, 7, 2));
    assert!(r.data.metric("w").unwrap().value.is_nan());
    assert_eq!(r.data.metric("w").unwrap().step, 0);
}
