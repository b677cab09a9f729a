//! `vintner serve`: the scoring protocol matrix, limits and the hot alias swap in-process (the
//! library's `serve::app` on 127.0.0.1:0), the binary end to end with SIGTERM, and the same
//! payload matrix sent to the real `mlflow models serve` for the same status codes and
//! `error_code`s.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Sandbox, git, stderr};
use crate::peers;
use crate::workflow::project;

const COLUMNS: [&str; 11] = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
];
const ROW: [f64; 11] = [
    7.4, 0.7, 0.0, 1.9, 0.076, 11.0, 34.0, 0.9978, 3.51, 0.56, 9.4,
];
const JSON: &str = "application/json";

/// One request of the payload matrix, and what MLflow 3.17.2 answers it with (status,
/// `error_code`). `ours` is set where vintner answers differently on purpose.
struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    mlflow: (u16, Option<&'static str>),
    ours: Option<(u16, Option<&'static str>)>,
}

fn record() -> Value {
    Value::Object(
        COLUMNS
            .iter()
            .zip(ROW)
            .map(|(c, v)| (c.to_string(), json!(v)))
            .collect(),
    )
}

fn with(value: Value, column: &str, cell: Value) -> Value {
    let mut v = value;
    v[column] = cell;
    v
}

fn without(value: Value, column: &str) -> Value {
    let mut v = value;
    v.as_object_mut().unwrap().remove(column);
    v
}

fn csv_line(cells: &[String]) -> String {
    cells.join(",") + "\n"
}

fn payload_matrix() -> Vec<Case> {
    let cols: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let row: Vec<Value> = ROW.iter().map(|v| json!(v)).collect();
    let rowtext: Vec<String> = ROW.iter().map(|v| v.to_string()).collect();
    let split = |data: Value| json!({"dataframe_split": {"columns": cols, "data": data}});
    let split_with = |column: &str, cell: Value| {
        let mut c = cols.clone();
        c.push(column.to_string());
        let mut r = row.clone();
        r.push(cell);
        json!({"dataframe_split": {"columns": c, "data": [r]}})
    };
    let first_is = |cell: Value| {
        let mut r = row.clone();
        r[0] = cell;
        split(json!([r]))
    };
    let columns_of = |rec: &Value| -> Value {
        Value::Object(
            rec.as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), json!([v])))
                .collect(),
        )
    };
    let ok = (200, None);
    let bad = (400, Some("BAD_REQUEST"));
    let schema = (400, Some("INVALID_PARAMETER_VALUE"));
    let unsupported = (415, None);
    let j = |name, value: Value, mlflow| Case {
        name,
        content_type: Some(JSON),
        body: value.to_string().into_bytes(),
        mlflow,
        ours: None,
    };
    let raw = |name, content_type, body: Vec<u8>, mlflow| Case {
        name,
        content_type: Some(content_type),
        body,
        mlflow,
        ours: None,
    };
    let big: Vec<Value> = (0..10_000)
        .map(|i| {
            let mut r = row.clone();
            r[10] = json!(8.0 + (i % 50) as f64 / 10.0);
            Value::Array(r)
        })
        .collect();
    let header = csv_line(&cols);
    let mut cases = vec![
        j("split", split(json!([row, row])), ok),
        j(
            "split with index and ints",
            json!({"dataframe_split": {"index": [4], "columns": cols, "data": [[7, 0, 0, 2, 0, 11, 34, 1, 3, 1, 9]]}}),
            ok,
        ),
        j(
            "records",
            json!({"dataframe_records": [record(), record()]}),
            ok,
        ),
        j("instances records", json!({"instances": [record()]}), ok),
        j(
            "instances columns",
            json!({"instances": columns_of(&record())}),
            ok,
        ),
        j(
            "inputs columns",
            json!({"inputs": columns_of(&record())}),
            ok,
        ),
        j("inputs single values", json!({"inputs": record()}), ok),
        j("inputs records", json!({"inputs": [record()]}), ok),
        j(
            "params ignored",
            json!({"dataframe_split": {"columns": cols, "data": [row]}, "params": {"foo": 1}}),
            ok,
        ),
        j(
            "params of a wrong type",
            json!({"dataframe_split": {"columns": cols, "data": [row]}, "params": [1, 2]}),
            ok,
        ),
        j(
            "extra top-level key",
            json!({"dataframe_split": {"columns": cols, "data": [row]}, "foo": 1}),
            ok,
        ),
        j("extra column", split_with("zzz", json!("x")), ok),
        j("numeric string and bool", first_is(json!("7.4")), ok),
        j("bool", first_is(json!(true)), ok),
        j("10k rows", split(Value::Array(big)), ok),
        j(
            "MLflow 1.x style",
            json!({"columns": cols, "data": [row]}),
            bad,
        ),
        j(
            "two input keys",
            json!({"dataframe_split": {"columns": cols, "data": [row]}, "dataframe_records": [record()]}),
            bad,
        ),
        j("no input key", json!({}), bad),
        j("a list", json!([row]), bad),
        j("a number", json!(5), bad),
        j("null", Value::Null, bad),
        j("split not a dict", json!({"dataframe_split": [row]}), bad),
        j(
            "split without data",
            json!({"dataframe_split": {"columns": cols}}),
            bad,
        ),
        j(
            "split with an unknown key",
            json!({"dataframe_split": {"columns": cols, "data": [row], "foo": 1}}),
            bad,
        ),
        j("split row too short", split(json!([[1.0, 2.0]])), bad),
        j("split row not a list", split(json!([5])), bad),
        j(
            "split without columns",
            json!({"dataframe_split": {"data": [row]}}),
            schema,
        ),
        j(
            "split duplicate column",
            split_with("pH", json!(1.0)),
            schema,
        ),
        j("empty data", split(json!([])), bad),
        j("empty records", json!({"dataframe_records": []}), schema),
        j(
            "records not a list",
            json!({"dataframe_records": record()}),
            bad,
        ),
        j(
            "records as lists",
            json!({"dataframe_records": [row]}),
            schema,
        ),
        j("instances as lists", json!({"instances": [row]}), schema),
        j("inputs as lists", json!({"inputs": [row]}), schema),
        j(
            "inputs ragged",
            json!({"inputs": with(columns_of(&record()), "pH", json!([1.0, 2.0]))}),
            schema,
        ),
        j(
            "inputs nested",
            json!({"inputs": with(columns_of(&record()), "pH", json!([[1.0]]))}),
            schema,
        ),
        j("inputs empty", json!({"inputs": {}}), schema),
        j("inputs a number", json!({"inputs": 5}), schema),
        j(
            "missing column",
            json!({"dataframe_records": [without(record(), "pH")]}),
            schema,
        ),
        j(
            "unicode column names",
            json!({"dataframe_split": {"columns": ["é", "ü"], "data": [[1.0, 2.0]]}}),
            schema,
        ),
        j("non-numeric value", first_is(json!("abc")), bad),
        j("list value", first_is(json!([1.0])), bad),
        j(
            "string in records",
            json!({"dataframe_records": [with(record(), "pH", json!("x"))]}),
            bad,
        ),
        j(
            "string in inputs",
            json!({"inputs": with(columns_of(&record()), "pH", json!(["x"]))}),
            bad,
        ),
        j("null value", first_is(Value::Null), bad),
        j(
            "null in records",
            json!({"dataframe_records": [with(record(), "pH", Value::Null)]}),
            bad,
        ),
        j("NaN as text", first_is(json!("NaN")), bad),
        j(
            "record missing a key",
            json!({"dataframe_records": [record(), without(record(), "pH")]}),
            bad,
        ),
        j(
            "chat input",
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            schema,
        ),
        raw(
            "invalid JSON",
            JSON,
            b"{\"dataframe_split\": ".to_vec(),
            bad,
        ),
        raw("empty body", JSON, Vec::new(), bad),
        raw("not UTF-8", JSON, b"\xff\xfe".to_vec(), bad),
        raw(
            "NaN literal",
            JSON,
            format!(
                "{{\"dataframe_split\": {{\"columns\": {}, \"data\": [[NaN, {}]]}}}}",
                json!(cols),
                rowtext[1..].join(", ")
            )
            .into_bytes(),
            bad,
        ),
        raw(
            "trailing garbage",
            JSON,
            [split(json!([row])).to_string().into_bytes(), b" x".to_vec()].concat(),
            bad,
        ),
        raw(
            "charset",
            "application/json; charset=utf-8",
            split(json!([row])).to_string().into_bytes(),
            ok,
        ),
        raw(
            "latin-1",
            "application/json; charset=latin-1",
            b"{}".to_vec(),
            unsupported,
        ),
        raw(
            "format parameter",
            "application/json; format=pandas-split",
            b"{}".to_vec(),
            unsupported,
        ),
        raw("text/plain", "text/plain", b"x".to_vec(), unsupported),
        raw(
            "form",
            "application/x-www-form-urlencoded",
            b"x".to_vec(),
            unsupported,
        ),
        raw(
            "upper-case type",
            "Application/JSON",
            b"{}".to_vec(),
            unsupported,
        ),
        raw(
            "csv",
            "text/csv",
            format!("{header}{}", csv_line(&rowtext)).into_bytes(),
            ok,
        ),
        raw(
            "csv quoted, CRLF, spaces",
            "text/csv",
            format!(
                "{}\r\n 7.4,{}\r\n",
                cols.iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(","),
                rowtext[1..].join(",")
            )
            .into_bytes(),
            ok,
        ),
        raw(
            "csv semicolons",
            "text/csv",
            format!("{}\n{}\n", cols.join(";"), rowtext.join(";")).into_bytes(),
            schema,
        ),
        raw(
            "csv missing column",
            "text/csv",
            format!("{}{}", csv_line(&cols[1..]), csv_line(&rowtext[1..])).into_bytes(),
            schema,
        ),
        raw(
            "csv unicode header",
            "text/csv",
            "é,ü\n1,2\n".as_bytes().to_vec(),
            schema,
        ),
        raw(
            "csv non-numeric",
            "text/csv",
            format!("{header}abc,{}\n", rowtext[1..].join(",")).into_bytes(),
            bad,
        ),
        raw(
            "csv empty field",
            "text/csv",
            format!("{header},{}\n", rowtext[1..].join(",")).into_bytes(),
            bad,
        ),
        raw(
            "csv short row",
            "text/csv",
            format!("{header}1,2\n").into_bytes(),
            bad,
        ),
        raw(
            "csv header only",
            "text/csv",
            header.clone().into_bytes(),
            bad,
        ),
        raw("csv empty", "text/csv", Vec::new(), bad),
        raw(
            "csv not UTF-8",
            "text/csv",
            b"\xff\xfe,a\n1,2\n".to_vec(),
            bad,
        ),
    ];
    // Where vintner answers differently on purpose: no Content-Type (MLflow: 500), Parquet
    // (not taken here: 415), a CSV row longer than the header (pandas silently uses the first
    // field as the row's index and shifts the others).
    cases.push(Case {
        name: "no content type",
        content_type: None,
        body: b"{}".to_vec(),
        mlflow: (500, None),
        ours: Some(unsupported),
    });
    cases.push(Case {
        name: "parquet",
        content_type: Some("application/vnd.apache.parquet"),
        body: b"garbage".to_vec(),
        mlflow: bad,
        ours: Some(unsupported),
    });
    cases.push(Case {
        name: "csv row longer than the header",
        content_type: Some("text/csv"),
        body: format!("{header}{},1,2\n", rowtext.join(",")).into_bytes(),
        mlflow: ok,
        ours: Some(bad),
    });
    cases
}

/// A response: status, headers (lower-case names) and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn error_code(&self) -> Option<String> {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| {
                v.get("error_code")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
    }

    fn predictions(&self) -> Vec<f64> {
        let v: Value =
            serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body));
        v["predictions"]
            .as_array()
            .unwrap_or_else(|| panic!("no predictions: {}", self.body))
            .iter()
            .map(|p| p.as_f64().unwrap())
            .collect()
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
fn http(addr: &str, method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    let mut s =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading the whole body and close.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer from {addr}{path}: {text:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn post(addr: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
    http(addr, "POST", "/invocations", content_type, body)
}

/// A project with two trained runs; the first is registered as `wine-quality@champion`.
fn trained_project(sb: &Sandbox) -> (std::path::PathBuf, String, String) {
    let remote = sb.path().join("remote");
    let proj = project(sb, "proj", Some(&remote));
    sb.vintner(&proj).arg("push").assert().success();
    let mut runs = Vec::new();
    for trees in ["30", "12"] {
        let out = sb
            .vintner(&proj)
            .args(["train", "--json", "-P"])
            .arg(format!("n_estimators={trees}"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t: Value = serde_json::from_slice(&out.stdout).unwrap();
        runs.push(t["run_id"].as_str().unwrap().to_string());
    }
    sb.vintner(&proj)
        .args(["register", "--run", &runs[0]])
        .assert()
        .success();
    (proj, runs[0].clone(), runs[1].clone())
}

/// The wine CSV with commas (MLflow's CSV), and `vintner infer`'s predictions for it.
fn infer_predictions(sb: &Sandbox, proj: &Path) -> (Vec<u8>, Vec<f64>) {
    let text = std::fs::read_to_string(proj.join("data/winequality-red.csv")).unwrap();
    let csv = text.replace(';', ",");
    std::fs::write(proj.join("commas.csv"), &csv).unwrap();
    let out = sb
        .vintner(proj)
        .args(["infer", "--input", "commas.csv", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (csv.into_bytes(), p)
}

/// The library's server on 127.0.0.1:0 in its own runtime; stopped when the sender is dropped.
fn start_in_process(
    state: Arc<vintner::serve::State>,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().to_string()).unwrap();
            vintner::serve::run(listener, state, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    (rx.recv().unwrap(), stop, thread)
}

#[test]
fn protocol_matrix_limits_and_hot_alias_swap_in_process() {
    use vintner::pipeline::infer::{ModelChoice, resolve};
    use vintner::serve::{Limits, State, reload};

    let sb = Sandbox::new();
    let (proj, _, second) = trained_project(&sb);
    let (csv, expected) = infer_predictions(&sb, &proj);

    let tracker = vintner::track::open(None, &proj).unwrap();
    let repo = vintner::data::Repo::find(&proj).unwrap();
    let choice = ModelChoice::parse("wine-quality@champion").unwrap();
    let resolved = resolve(tracker.as_ref(), &choice).unwrap();
    let (served, _) = reload::load(&repo, &resolved, &vintner::progress::Silent).unwrap();
    assert_eq!(served.version, "1");
    let limits = Limits {
        max_body_bytes: 4 << 20,
        max_rows: 20_000,
        timeout: Duration::from_secs(60),
        concurrency: 2,
    };
    let state = State::new(limits, Some(served));
    let (addr, stop, server) = start_in_process(state.clone());

    assert_eq!(http(&addr, "GET", "/ping", None, b"").status, 200);
    assert_eq!(http(&addr, "GET", "/version", None, b"").status, 200);
    assert_eq!(http(&addr, "GET", "/nope", None, b"").status, 404);

    // Predictions equal `vintner infer`'s, bit for bit.
    let got = post(&addr, Some("text/csv"), &csv);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.header("x-model-version"), Some("1"));
    let p = got.predictions();
    assert_eq!(p.len(), expected.len());
    for (i, (a, b)) in p.iter().zip(&expected).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "row {i}: serve {a} vs infer {b}");
    }

    // Every case of the matrix: MLflow's status and error_code (or ours where we differ).
    for case in payload_matrix() {
        let a = post(&addr, case.content_type, &case.body);
        let want = case.ours.unwrap_or(case.mlflow);
        assert_eq!(
            (a.status, a.error_code().as_deref()),
            want,
            "{}: {}",
            case.name,
            a.body
        );
        assert!(a.status < 500, "{}: a 5xx for client input", case.name);
        if a.status == 415 {
            assert!(a.header("content-type").unwrap().starts_with("text/plain"));
        }
    }

    // Limits: too many rows and too many bytes are 413, and nothing else breaks.
    let many = json!({"inputs": COLUMNS.iter().map(|c| (c.to_string(), json!(vec![1; 20_001]))).collect::<serde_json::Map<_, _>>()});
    let a = post(&addr, Some(JSON), many.to_string().as_bytes());
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body.contains("--max-rows"), "{}", a.body);
    let huge = vec![b' '; 5 << 20];
    let a = post(&addr, Some(JSON), &huge);
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(http(&addr, "GET", "/ping", None, b"").status, 200);

    // Hot swap: the alias moves while a client loop runs; no request fails, the new version
    // answers, and never the old one after it.
    let running = Arc::new(AtomicBool::new(true));
    let seen: Arc<Mutex<Vec<(u16, String)>>> = Arc::default();
    let body = json!({"dataframe_records": [record()]}).to_string();
    let client = {
        let (running, seen, addr) = (running.clone(), seen.clone(), addr.clone());
        std::thread::spawn(move || {
            while running.load(Ordering::Relaxed) {
                let a = post(&addr, Some(JSON), body.as_bytes());
                let v = a.header("x-model-version").unwrap_or("").to_string();
                seen.lock().unwrap().push((a.status, v));
            }
        })
    };
    let (stop_watch, watch_stopped) = std::sync::mpsc::channel::<()>();
    let events = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        let watch = reload::Watch {
            tracker: tracker.as_ref(),
            repo: &repo,
            choice: choice.clone(),
            every: Duration::from_millis(50),
        };
        let (state, events) = (&state, &events);
        scope.spawn(move || {
            reload::watch(state, &watch, &watch_stopped, &|e| {
                events.lock().unwrap().push(e.clone())
            })
        });
        while seen.lock().unwrap().len() < 20 {
            std::thread::sleep(Duration::from_millis(10));
        }
        sb.vintner(&proj)
            .args(["register", "--run", &second])
            .assert()
            .success();
        let start = Instant::now();
        loop {
            let newest = seen
                .lock()
                .unwrap()
                .iter()
                .rev()
                .take(5)
                .filter(|(_, v)| v == "2")
                .count();
            if newest == 5 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "version 2 never answered"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(stop_watch);
    });
    running.store(false, Ordering::Relaxed);
    client.join().unwrap();
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter().all(|(s, _)| *s == 200),
        "a request failed during the swap"
    );
    let first_new = seen.iter().position(|(_, v)| v == "2").unwrap();
    assert!(first_new > 0 && seen[..first_new].iter().all(|(_, v)| v == "1"));
    assert!(
        seen[first_new..].iter().all(|(_, v)| v == "2"),
        "the old model answered after the swap"
    );
    let events = events.into_inner().unwrap();
    assert!(
        matches!(&events[..], [reload::Event::Swapped { from, to, .. }] if from == "1" && to == "2"),
        "{events:?}"
    );

    // A version whose bytes are gone is not swapped in; the old one serves, /health says why.
    let out = sb
        .vintner(&proj)
        .args(["train", "--json", "-P", "n_estimators=5"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let t: Value = serde_json::from_slice(&out.stdout).unwrap();
    sb.vintner(&proj)
        .args(["register", "--run", t["run_id"].as_str().unwrap()])
        .assert()
        .success();
    let md5 = t["model"]["md5"].as_str().unwrap();
    for store in [sb.path().join("remote"), proj.join(".dvc/cache")] {
        let obj = store.join("files/md5").join(&md5[..2]).join(&md5[2..]);
        std::fs::remove_file(&obj).unwrap_or_else(|e| panic!("{}: {e}", obj.display()));
    }
    let watch = reload::Watch {
        tracker: tracker.as_ref(),
        repo: &repo,
        choice,
        every: Duration::from_millis(50),
    };
    let event = reload::check(&state, &watch);
    assert!(
        matches!(&event, Some(reload::Event::Failed { version: Some(v), .. }) if v == "3"),
        "{event:?}"
    );
    let health = http(&addr, "GET", "/health", None, b"");
    assert_eq!(health.status, 200);
    let h: Value = serde_json::from_str(&health.body).unwrap();
    assert_eq!(h["version"], "2", "{h}");
    assert!(
        h["reload_error"].as_str().unwrap().contains("version 3"),
        "{h}"
    );
    let a = post(
        &addr,
        Some(JSON),
        json!({"dataframe_records": [record()]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!((a.status, a.header("x-model-version")), (200, Some("2")));
    let metrics = http(&addr, "GET", "/metrics", None, b"").body;
    assert!(
        metrics.contains("vintner_serve_model_swaps_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("version=\"2\""), "{metrics}");
    assert!(
        metrics.contains("vintner_serve_requests_total{path=\"/invocations\",status=\"413\"} 2"),
        "{metrics}"
    );

    drop(stop);
    server.join().unwrap();
}

/// `vintner serve` on a free port: answers, names its version, and drains and exits 0 on SIGTERM.
#[test]
fn binary_serves_and_stops_cleanly_on_sigterm() {
    let sb = Sandbox::new();
    let (proj, run, _) = trained_project(&sb);
    let (addr, child) = start_binary(&sb, &proj, &["--run", &run]);
    let a = post(
        &addr,
        Some(JSON),
        json!({"instances": [record()]}).to_string().as_bytes(),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.predictions().len(), 1);
    assert_eq!(a.header("x-model-version"), Some(run.as_str()));
    let (status, stderr) = stop_binary(child);
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("terminated: finishing the requests in flight"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("7.4"),
        "a payload reached the log: {stderr}"
    );
}

/// `vintner serve` started in `dir` on a free port with `args`, once it answers `/ping`.
fn start_binary(sb: &Sandbox, dir: &Path, args: &[&str]) -> (String, std::process::Child) {
    let port = peers::free_port();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    let mut child = cmd
        .current_dir(dir)
        .args(["serve", "--port", &port.to_string()])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    peers::wait_for_port(port, 60, "vintner serve", &mut child);
    let addr = format!("127.0.0.1:{port}");
    assert_eq!(http(&addr, "GET", "/ping", None, b"").status, 200);
    (addr, child)
}

/// SIGTERM, then the exit status and stderr.
fn stop_binary(child: std::process::Child) -> (std::process::ExitStatus, String) {
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A clone has no tracking store (git ignores `mlflow.db`): `serve` then uses the model git
/// versions, as `infer` does, and predicts exactly what `infer` predicts there; a model named by
/// the registry or a run is refused with `infer`'s error, and no store is created.
#[test]
fn a_clone_without_a_store_serves_the_model_git_versions() {
    let sb = Sandbox::new();
    let (proj, run, _) = trained_project(&sb);
    git(&proj, &["add", "-A"]);
    git(&proj, &["commit", "-qm", "data and models"]);
    let (csv, _) = infer_predictions(&sb, &proj);
    git(sb.path(), &["clone", "-q", "proj", "clone"]);
    let clone = sb.path().join("clone");
    assert!(!clone.join("mlflow.db").exists());
    std::fs::write(clone.join("commas.csv"), &csv).unwrap();
    let out = sb
        .vintner(&clone)
        .args(["infer", "--input", "commas.csv", "--format", "json"])
        .assert()
        .success();
    let inferred: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let md5 = inferred["model_md5"].as_str().unwrap().to_string();
    let expected: Vec<f64> = inferred["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .collect();

    let (addr, child) = start_binary(&sb, &clone, &[]);
    let got = post(&addr, Some("text/csv"), &csv);
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.header("x-model-version"), Some(md5.as_str()));
    let p = got.predictions();
    assert_eq!(p.len(), expected.len());
    for (i, (a, b)) in p.iter().zip(&expected).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "row {i}: serve {a} vs infer {b}");
    }
    let health: Value =
        serde_json::from_str(&http(&addr, "GET", "/health", None, b"").body).unwrap();
    assert_eq!(
        health["model"], "models/wine-quality.dvc at HEAD",
        "{health}"
    );
    assert_eq!(health["version"], md5.as_str(), "{health}");
    let (status, err) = stop_binary(child);
    assert!(status.success(), "{status:?}: {err}");
    assert!(
        err.contains(&format!(
            "no tracking store here (`mlflow.db` does not exist); using the model git versions: \
             models/wine-quality.dvc at HEAD (md5 {md5})"
        )),
        "{err}"
    );
    assert!(!err.contains("following"), "nothing to follow: {err}");

    for args in [
        &["serve", "--port", "0", "--model", "wine-quality@champion"][..],
        &["serve", "--port", "0", "--run", &run],
    ] {
        let out = sb.vintner(&clone).args(args).assert().code(1);
        let err = stderr(&out);
        assert!(
            err.contains("needs the model registry, and there is no tracking store here"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("MLFLOW_TRACKING_URI=http://host:5000 vintner serve")
                && err.contains("without --model or --run, serve uses the model git versions"),
            "{args:?}: {err}"
        );
    }
    assert!(!clone.join("mlflow.db").exists());
}

/// The same payload matrix to the real `mlflow models serve` (a scikit-learn model with the same
/// columns) and to `vintner serve`: the same status and `error_code` for every case.
#[test]
fn same_answers_as_mlflow_models_serve() {
    let sb = Sandbox::new();
    let (proj, _, _) = trained_project(&sb);

    let model_dir = sb.path().join("sk-model");
    let script = r#"
import sys, pandas as pd, mlflow
from sklearn.linear_model import ElasticNet
df = pd.read_csv(sys.argv[1], sep=";")
X = df.drop(columns=["quality"]).astype("float64")
mlflow.sklearn.save_model(ElasticNet(alpha=0.5).fit(X, df["quality"]), sys.argv[2], input_example=X.head(3))
"#;
    peers::mlflow_python(&sb, sb.path())
        .arg("-c")
        .arg(script)
        .arg(proj.join("data/winequality-red.csv"))
        .arg(&model_dir)
        .assert()
        .success();
    let mlflow_port = peers::free_port();
    let serve_dir = sb.mkdir("mlflow-serve");
    let bin_dir = peers::mlflow_cli().parent().unwrap().to_path_buf();
    let watchdog_script = r#"
cd "$DIR"
setsid "$MLFLOW" models serve -m "$MODEL" --env-manager local -h 127.0.0.1 -p "$PORT" >"$DIR/serve.log" 2>&1 &
srv=$!
echo "$srv" >"$DIR/pid"
while kill -0 "$TESTPID" 2>/dev/null && kill -0 "$srv" 2>/dev/null; do sleep 1; done
kill -TERM -- "-$srv" 2>/dev/null; sleep 5; kill -KILL -- "-$srv" 2>/dev/null
"#;
    let mut cmd = std::process::Command::new("bash");
    sb.isolate_std(&mut cmd);
    let mut watchdog = cmd
        .arg("-c")
        .arg(watchdog_script)
        .env("MLFLOW", peers::mlflow_cli())
        .env("MODEL", &model_dir)
        .env("PORT", mlflow_port.to_string())
        .env("DIR", &serve_dir)
        .env("TESTPID", std::process::id().to_string())
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();

    let port = peers::free_port();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("vintner"));
    sb.isolate_std(&mut cmd);
    let mut ours = cmd
        .current_dir(&proj)
        .args(["serve", "--port", &port.to_string(), "-q"])
        .spawn()
        .unwrap();
    peers::wait_for_port(port, 60, "vintner serve", &mut ours);
    let mlflow = format!("127.0.0.1:{mlflow_port}");
    let start = Instant::now();
    while peers::http_get(&mlflow, "/ping").map(|(s, _)| s) != Some(200) {
        let log = std::fs::read_to_string(serve_dir.join("serve.log")).unwrap_or_default();
        assert!(
            start.elapsed() < Duration::from_secs(400),
            "mlflow models serve did not start:\n{log}"
        );
        assert!(
            !log.contains("Traceback"),
            "mlflow models serve failed:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let vintner = format!("127.0.0.1:{port}");
    for path in ["/ping", "/health", "/version", "/nope"] {
        let (m, v) = (
            http(&mlflow, "GET", path, None, b""),
            http(&vintner, "GET", path, None, b""),
        );
        assert_eq!(m.status, v.status, "GET {path}");
    }
    let mut mismatches = Vec::new();
    for case in payload_matrix() {
        let m = post(&mlflow, case.content_type, &case.body);
        let v = post(&vintner, case.content_type, &case.body);
        let (m_key, v_key) = ((m.status, m.error_code()), (v.status, v.error_code()));
        let want_m = (case.mlflow.0, case.mlflow.1.map(String::from));
        let want_v = case
            .ours
            .map(|(s, c)| (s, c.map(String::from)))
            .unwrap_or_else(|| want_m.clone());
        if m_key != want_m || v_key != want_v {
            mismatches.push(format!(
                "{}: mlflow {m_key:?} (table {want_m:?}), vintner {v_key:?}",
                case.name
            ));
        }
        if m.status == 200 && v.status == 200 {
            assert_eq!(
                m.predictions().len(),
                v.predictions().len(),
                "{}",
                case.name
            );
        }
    }
    unsafe { libc::kill(ours.id() as i32, libc::SIGTERM) };
    assert!(ours.wait().unwrap().success());
    // The server's whole process group (the watchdog would, once this test process exits).
    if let Some(pid) = std::fs::read_to_string(serve_dir.join("pid"))
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    {
        unsafe { libc::kill(-pid, libc::SIGTERM) };
    }
    let _ = watchdog.wait();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
