//! MLflow's scoring protocol for `POST /invocations`, as `mlflow models serve` 3.x speaks it:
//! which content types are accepted, how the four JSON input shapes (`dataframe_split`,
//! `dataframe_records`, `instances`, `inputs`) and CSV become the model's feature matrix, and
//! which status and `error_code` MLflow answers for each kind of bad input. Pure functions of the
//! request; no I/O, so every case is unit-tested.
//!
//! Checks run in MLflow's order, so the first problem reported is the one MLflow reports: the
//! content type (415), the JSON itself and its shape (400 `BAD_REQUEST`), the values of the model's
//! columns (400 `BAD_REQUEST`), missing columns (400 `INVALID_PARAMETER_VALUE`), then empty input
//! and missing values (400 `BAD_REQUEST`, where scikit-learn would refuse them).

use serde_json::{Map, Value};

use crate::ml::dataset::Matrix;

/// The content types this server accepts, as MLflow lists them in its 415 message.
pub const CONTENT_TYPES: &str = "['text/csv', 'application/json']";

/// The JSON keys that carry input; exactly one must be present.
const INPUT_KEYS: &str = "{'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";

/// Keys of MLflow's "unified LLM" input, which a tabular model cannot take.
const LLM_KEYS: [&str; 3] = ["messages", "prompt", "input"];

/// MLflow's note, appended to the messages about the 1.x request format.
pub const PROTOCOL_CHANGE: &str = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you \
     are seeing this error, you are likely using an outdated scoring request format: send a JSON \
     dictionary with one of the keys dataframe_split, dataframe_records, instances or inputs.";

/// Why a request was refused, mapped to MLflow's status and `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// 415, `text/plain`: a content type (or parameter) MLflow's server does not take either.
    UnsupportedMedia(String),
    /// 400 `BAD_REQUEST`: the body is not valid input (JSON, shape, a value, no rows).
    BadRequest(String),
    /// 400 `INVALID_PARAMETER_VALUE` (`SCHEMA_ENFORCEMENT_FAILED`): the input does not have the
    /// columns the model's signature names.
    Schema(String),
    /// 413: over a configured limit (body bytes or rows).
    TooLarge(String),
}

impl Rejection {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Rejection::UnsupportedMedia(_) => 415,
            Rejection::BadRequest(_) | Rejection::Schema(_) => 400,
            Rejection::TooLarge(_) => 413,
        }
    }

    /// The response body: plain text for 415 (as MLflow), else MLflow's error JSON
    /// (`error_code`, `message`, `sqlstate`, `error_class`).
    pub fn body(&self) -> (&'static str, String) {
        let (code, sqlstate, class, message) = match self {
            Rejection::UnsupportedMedia(m) => return ("text/plain; charset=utf-8", m.clone()),
            Rejection::BadRequest(m) => ("BAD_REQUEST", "KAM00", "INVALID_PARAMETER_VALUE", m),
            Rejection::Schema(m) => (
                "INVALID_PARAMETER_VALUE",
                "KAM01",
                "SCHEMA_ENFORCEMENT_FAILED",
                m,
            ),
            Rejection::TooLarge(m) => ("BAD_REQUEST", "KAM00", "REQUEST_TOO_LARGE", m),
        };
        #[derive(serde::Serialize)]
        struct ErrorBody<'a> {
            error_code: &'a str,
            message: &'a str,
            sqlstate: &'a str,
            error_class: &'a str,
        }
        let body = ErrorBody {
            error_code: code,
            message,
            sqlstate,
            error_class: class,
        };
        (
            "application/json",
            serde_json::to_string(&body).unwrap_or_default(),
        )
    }
}

/// What a request's content type says the body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// Reads the `Content-Type` header as MLflow does: the media type is compared exactly (so
/// `Application/JSON` is refused, as by MLflow), the only parameter allowed is `charset`, and it
/// must be UTF-8. A missing header is a 415 here (MLflow answers it with a 500).
pub fn format_of(content_type: Option<&str>) -> Result<Format, Rejection> {
    let Some(content_type) = content_type else {
        return Err(Rejection::UnsupportedMedia(format!(
            "This predictor only supports the following content types: Types: {CONTENT_TYPES}. \
             Got no Content-Type header."
        )));
    };
    let mut parts = content_type.split(';').map(str::trim);
    let mime = parts.next().unwrap_or_default();
    let mut unexpected = Vec::new();
    let mut charset = "utf-8".to_string();
    for pair in parts {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "charset" {
            charset = value.to_lowercase();
        } else if !unexpected.contains(&key) {
            unexpected.push(key);
        }
    }
    if charset != "utf-8" {
        return Err(Rejection::UnsupportedMedia(
            "The scoring server only supports UTF-8".into(),
        ));
    }
    if !unexpected.is_empty() {
        return Err(Rejection::UnsupportedMedia(format!(
            "Unrecognized content type parameters: {}. {PROTOCOL_CHANGE}",
            unexpected.join(", ")
        )));
    }
    match mime {
        "application/json" => Ok(Format::Json),
        "text/csv" => Ok(Format::Csv),
        _ => Err(Rejection::UnsupportedMedia(format!(
            "This predictor only supports the following content types: Types: {CONTENT_TYPES}. \
             Got '{content_type}'."
        ))),
    }
}

/// Turns a request body into the model's feature matrix (columns in `features` order).
pub fn parse(
    format: Format,
    body: &[u8],
    features: &[String],
    max_rows: usize,
) -> Result<Matrix, Rejection> {
    match format {
        Format::Json => {
            // Python's json.loads accepts a UTF-8 byte-order mark; serde does not.
            let body = body.strip_prefix(b"\xef\xbb\xbf").unwrap_or(body);
            let value: Value = serde_json::from_slice(body).map_err(invalid_json)?;
            frame_of_value(&value, max_rows)?.into_matrix(features)
        }
        Format::Csv => {
            let (header, records) = read_csv(body, max_rows)?;
            Frame {
                columns: header.into_iter().map(Some).collect(),
                rows: records.len(),
                cells: Box::new(|r, c| records[r].get(c).map_or(Cell::Absent, Cell::Text)),
                duplicates_allowed: true,
            }
            .into_matrix(features)
        }
    }
}

/// A cell as the client sent it, before it is converted to a number.
#[derive(Debug, Clone, Copy)]
enum Cell<'a> {
    Json(&'a Value),
    Text(&'a str),
    /// Absent (a record without the key, a short CSV row): a missing value, NaN to pandas.
    Absent,
}

impl Cell<'_> {
    /// The value as a number: `Ok(NaN)` for a missing one, `Err(why)` when it is not a number.
    fn number(self) -> Result<f64, String> {
        match self {
            Cell::Absent | Cell::Json(Value::Null) => Ok(f64::NAN),
            Cell::Json(Value::Number(n)) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            Cell::Json(Value::Bool(b)) => Ok(if *b { 1.0 } else { 0.0 }),
            Cell::Json(Value::String(s)) => text_number(s),
            Cell::Json(Value::Array(_)) => Err("a list is not a number".into()),
            Cell::Json(Value::Object(_)) => Err("an object is not a number".into()),
            Cell::Text(s) => {
                let t = s.trim();
                if t.is_empty() {
                    Ok(f64::NAN)
                } else {
                    text_number(t)
                }
            }
        }
    }
}

/// A number written as text (`" 7.4 "`, `"1e3"`, `"nan"`), as Python's `float()` reads it.
fn text_number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("could not convert string to float: {}", py_str(s)))
}

/// The input as named columns of cells, before it is checked against the model's signature.
struct Frame<'a> {
    /// Column names; `None` for a column without one (a list row, `dataframe_split` without
    /// `columns`), which never matches a model input.
    columns: Vec<Option<String>>,
    rows: usize,
    /// `cell(row, column)`.
    cells: Box<dyn Fn(usize, usize) -> Cell<'a> + 'a>,
    /// Whether duplicate column names are an error (JSON) or the first one wins (CSV, as pandas
    /// renames the others `name.1`, …).
    duplicates_allowed: bool,
}

impl Frame<'_> {
    fn into_matrix(self, features: &[String]) -> Result<Matrix, Rejection> {
        let mut position = Vec::with_capacity(features.len());
        let mut missing = Vec::new();
        for f in features {
            let mut found = self
                .columns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.as_deref() == Some(f.as_str()))
                .map(|(i, _)| i);
            let first = found.next();
            if first.is_some() && found.next().is_some() && !self.duplicates_allowed {
                return Err(Rejection::Schema(format!(
                    "Failed to enforce schema: the input has more than one column named {}",
                    py_str(f)
                )));
            }
            if first.is_none() {
                missing.push(f.clone());
            }
            position.push(first);
        }
        // Values first (MLflow converts the signature's columns while it parses), then the
        // columns that are not there at all.
        let mut data = Vec::with_capacity(self.rows * features.len());
        let mut first_nan: Option<(usize, &str)> = None;
        for row in 0..self.rows {
            for (j, pos) in position.iter().enumerate() {
                let value = match pos {
                    Some(col) => (self.cells)(row, *col).number().map_err(|why| {
                        Rejection::BadRequest(format!(
                            "Invalid input. Data is not compatible with model signature. Failed \
                             to convert column {} to type 'float64' (row {row}): {why}",
                            features[j]
                        ))
                    })?,
                    None => f64::NAN,
                };
                if !value.is_finite() && pos.is_some() && first_nan.is_none() {
                    first_nan = Some((row, features[j].as_str()));
                }
                data.push(value);
            }
        }
        if !missing.is_empty() {
            let wanted: std::collections::HashSet<&str> =
                features.iter().map(String::as_str).collect();
            let extra: Vec<String> = self
                .columns
                .iter()
                .map(|c| c.clone().unwrap_or_else(|| "<unnamed>".into()))
                .filter(|c| !wanted.contains(c.as_str()))
                .collect();
            let mut message = format!(
                "Failed to enforce schema of the input with the model's signature. Error: Model \
                 is missing inputs {}.",
                py_list(&missing)
            );
            if !extra.is_empty() {
                message.push_str(&format!(
                    " Note that there were extra inputs: {}.",
                    py_list(&extra)
                ));
            }
            return Err(Rejection::Schema(message));
        }
        if self.rows == 0 {
            return Err(Rejection::BadRequest(
                "Encountered an unexpected error while evaluating the model: the input has no \
                 rows (a minimum of 1 is required)."
                    .into(),
            ));
        }
        if let Some((row, column)) = first_nan {
            return Err(Rejection::BadRequest(format!(
                "Encountered an unexpected error while evaluating the model: column {column} \
                 has a missing or non-finite value (row {row}); the model takes finite numbers \
                 only."
            )));
        }
        Matrix::new(self.rows, features.len(), data).ok_or_else(|| {
            Rejection::BadRequest("Encountered an unexpected error building the input".into())
        })
    }
}

fn too_many_rows(rows: usize, max_rows: usize) -> Result<(), Rejection> {
    if rows > max_rows {
        return Err(Rejection::TooLarge(format!(
            "The input has {rows} rows, more than this server takes in one request ({max_rows}); \
             send fewer rows per request or raise `vintner serve --max-rows`."
        )));
    }
    Ok(())
}

/// A body that is not valid JSON, with serde's account of where.
fn invalid_json(err: impl std::fmt::Display) -> Rejection {
    Rejection::BadRequest(format!(
        "Invalid input. Ensure that input is a valid JSON formatted string. Error: '{err}'"
    ))
}

fn frame_of_value(value: &Value, max_rows: usize) -> Result<Frame<'_>, Rejection> {
    let Value::Object(obj) = value else {
        let what = match value {
            Value::Array(_) => "Received a list.".to_string(),
            other => format!(
                "Received unexpected input type '{}'.",
                match other {
                    Value::Null => "<class 'NoneType'>",
                    Value::Bool(_) => "<class 'bool'>",
                    Value::Number(n) if n.is_f64() => "<class 'float'>",
                    Value::Number(_) => "<class 'int'>",
                    Value::String(_) => "<class 'str'>",
                    _ => "<class 'object'>",
                }
            ),
        };
        return Err(Rejection::BadRequest(format!(
            "Invalid input. The input must be a JSON dictionary with exactly one of the input \
             fields {INPUT_KEYS}. {what}"
        )));
    };
    if let Some(key) = LLM_KEYS.iter().find(|k| obj.contains_key(**k)) {
        return Err(Rejection::Schema(format!(
            "Failed to enforce schema of the input with the model's signature: `{key}` is chat \
             or completion input, and this model takes a table of named columns."
        )));
    }
    let keys: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| {
            matches!(
                *k,
                "dataframe_split" | "dataframe_records" | "instances" | "inputs"
            )
        })
        .collect();
    let [key] = keys.as_slice() else {
        return Err(Rejection::BadRequest(format!(
            "The input must be a JSON dictionary with exactly one of the input fields \
             {INPUT_KEYS}. Received dictionary with input fields: {}. {PROTOCOL_CHANGE}",
            py_list(&keys)
        )));
    };
    // `params` is accepted and ignored, as MLflow does for a model without a params schema.
    let data = &obj[*key];
    match *key {
        "dataframe_split" => split_frame(data, max_rows),
        "dataframe_records" => match data {
            Value::Array(items) => records_frame(items, max_rows),
            other => Err(Rejection::BadRequest(format!(
                "Invalid input. Dataframe records format must be a list of records. Got {}.",
                py_type(other)
            ))),
        },
        // `instances` and `inputs`: TF-serving style.
        _ => match data {
            Value::Array(items) => records_frame(items, max_rows),
            Value::Object(columns) => columns_frame(columns, max_rows),
            Value::String(s) => Err(Rejection::BadRequest(format!(
                "Invalid input. Failed to convert data {} to the model's signature: a table of \
                 named columns",
                py_str(s)
            ))),
            _ => Err(Rejection::Schema(
                "Failed to enforce schema of the input with the model's signature: a single \
                 value has no column names."
                    .into(),
            )),
        },
    }
}

/// `{"columns": [...], "data": [[...], ...], "index": [...]}` (pandas' split orient).
fn split_frame(data: &Value, max_rows: usize) -> Result<Frame<'_>, Rejection> {
    let Value::Object(split) = data else {
        return Err(Rejection::BadRequest(format!(
            "Invalid input. Dataframe split format must be a dictionary. Got {}.",
            py_type(data)
        )));
    };
    let allowed = ["data", "columns", "index"];
    if !split.contains_key("data") || split.keys().any(|k| !allowed.contains(&k.as_str())) {
        let got: Vec<&str> = split.keys().map(String::as_str).collect();
        return Err(Rejection::BadRequest(format!(
            "Invalid input. Dataframe split format must have 'data' field and optionally \
             'columns' and 'index' fields. Got {}.",
            py_list(&got)
        )));
    }
    let not_split = |why: String| {
        Rejection::BadRequest(format!(
            "Invalid input. Provided dataframe_split field is not a valid dataframe \
             representation in 'split' format. Error: '{why}'"
        ))
    };
    let Value::Array(rows) = &split["data"] else {
        return Err(not_split("`data` must be a list of rows".into()));
    };
    too_many_rows(rows.len(), max_rows)?;
    let columns: Option<Vec<Option<String>>> = match split.get("columns") {
        None | Some(Value::Null) => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| n.as_str().map(str::to_string))
                .collect(),
        ),
        Some(_) => return Err(not_split("`columns` must be a list of names".into())),
    };
    let mut width = columns.as_ref().map(Vec::len);
    for row in rows {
        let Value::Array(cells) = row else {
            return Err(not_split("each row of `data` must be a list".into()));
        };
        match (columns.as_ref(), width) {
            (Some(c), _) if cells.len() != c.len() => {
                return Err(not_split(format!(
                    "{} columns passed, passed data had {} columns",
                    c.len(),
                    cells.len()
                )));
            }
            (None, Some(w)) => width = Some(w.max(cells.len())),
            (None, None) => width = Some(cells.len()),
            _ => {}
        }
    }
    if let Some(Value::Array(index)) = split.get("index")
        && index.len() != rows.len()
    {
        return Err(not_split(format!(
            "Length of values ({}) does not match length of index ({})",
            rows.len(),
            index.len()
        )));
    }
    let columns = columns.unwrap_or_else(|| vec![None; width.unwrap_or(0)]);
    Ok(Frame {
        columns,
        rows: rows.len(),
        cells: Box::new(move |r, c| match &rows[r] {
            Value::Array(cells) => cells.get(c).map_or(Cell::Absent, Cell::Json),
            _ => Cell::Absent,
        }),
        duplicates_allowed: false,
    })
}

/// A list of records `[{"a": 1, ...}, ...]`. A record without a key has a missing value there;
/// an item that is not a record (a list of values) has no column names.
fn records_frame(items: &[Value], max_rows: usize) -> Result<Frame<'_>, Rejection> {
    too_many_rows(items.len(), max_rows)?;
    let mut columns: Vec<Option<String>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in items {
        match item {
            Value::Object(record) => {
                for k in record.keys() {
                    if seen.insert(k.as_str()) {
                        columns.push(Some(k.clone()));
                    }
                }
            }
            _ => {
                return Err(Rejection::Schema(
                    "Failed to enforce schema of the input with the model's signature: rows \
                     given as lists have no column names; send records (`{\"column\": value}`) \
                     or use `dataframe_split` with `columns`."
                        .into(),
                ));
            }
        }
    }
    let names: Vec<String> = columns.iter().flatten().cloned().collect();
    Ok(Frame {
        columns,
        rows: items.len(),
        cells: Box::new(move |r, c| match &items[r] {
            Value::Object(record) => record.get(&names[c]).map_or(Cell::Absent, Cell::Json),
            _ => Cell::Absent,
        }),
        duplicates_allowed: false,
    })
}

/// Columns `{"a": [1, 2], "b": [3, 4]}`; a single value stands for a one-row column.
fn columns_frame(columns: &Map<String, Value>, max_rows: usize) -> Result<Frame<'_>, Rejection> {
    let mut rows: Option<usize> = None;
    for (name, values) in columns {
        if let Value::Array(values) = values {
            if values.iter().any(|v| matches!(v, Value::Array(_))) {
                return Err(Rejection::Schema(format!(
                    "Failed to enforce schema of the input with the model's signature: column \
                     {} holds lists, and the model takes one number per row.",
                    py_str(name)
                )));
            }
            match rows {
                Some(n) if n != values.len() => {
                    return Err(Rejection::Schema(format!(
                        "Failed to enforce schema of the input with the model's signature: the \
                         columns have different lengths ({n} and {} in {}).",
                        values.len(),
                        py_str(name)
                    )));
                }
                _ => rows = Some(values.len()),
            }
        }
    }
    let rows = rows.unwrap_or(if columns.is_empty() { 0 } else { 1 });
    too_many_rows(rows, max_rows)?;
    let values: Vec<&Value> = columns.values().collect();
    Ok(Frame {
        columns: columns.keys().map(|k| Some(k.clone())).collect(),
        rows,
        cells: Box::new(move |r, c| match values[c] {
            Value::Array(list) => list.get(r).map_or(Cell::Absent, Cell::Json),
            scalar => Cell::Json(scalar),
        }),
        duplicates_allowed: false,
    })
}

/// CSV with a header row and commas, as pandas' `read_csv` defaults read it: the header and
/// the records (blank lines skipped).
fn read_csv(
    body: &[u8],
    max_rows: usize,
) -> Result<(Vec<String>, Vec<csv::StringRecord>), Rejection> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Rejection::BadRequest(format!(
            "Invalid input. Ensure that input is a valid UTF-8 encoded string. Error: '{e}'"
        ))
    })?;
    let not_csv = |why: String| {
        Rejection::BadRequest(format!(
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid \
             CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` \
             method. Error: '{why}'"
        ))
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| not_csv(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(not_csv("No columns to parse from file".into()));
    }
    let mut records: Vec<csv::StringRecord> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| not_csv(e.to_string()))?;
        if record.len() == 1 && record[0].trim().is_empty() {
            continue; // a blank line, which pandas skips
        }
        if record.len() > header.len() {
            let line = record.position().map_or(0, |p| p.line());
            return Err(not_csv(format!(
                "Expected {} fields in line {line}, saw {}",
                header.len(),
                record.len()
            )));
        }
        records.push(record);
        too_many_rows(records.len(), max_rows)?;
    }
    Ok((header, records))
}

/// A string as Python's `repr` writes it (for messages that match MLflow's).
fn py_str(s: &str) -> String {
    if s.contains('\'') && !s.contains('"') {
        format!("\"{s}\"")
    } else {
        format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// A list of strings as Python's `repr` writes it: `['a', 'b']`.
fn py_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|s| py_str(s.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// The Python type name of a JSON value, as MLflow's messages say it.
fn py_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "type <class 'NoneType'>",
        Value::Bool(_) => "type <class 'bool'>",
        Value::Number(_) => "type <class 'float'>",
        Value::String(_) => "type <class 'str'>",
        Value::Array(_) => "list",
        Value::Object(_) => "dictionary",
    }
}

/// `{"predictions": [...]}` written as Python's `json.dump` writes it (`", "` and `": "`), each
/// number in its shortest form that reads back to the same `f64`.
pub fn predictions_json(predictions: &[f64]) -> String {
    let mut out = String::with_capacity(20 + predictions.len() * 20);
    out.push_str("{\"predictions\": [");
    for (i, p) in predictions.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        match serde_json::Number::from_f64(*p) {
            Some(n) => out.push_str(&n.to_string()),
            None => out.push_str("NaN"),
        }
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn json(body: &str) -> Result<Matrix, Rejection> {
        parse(Format::Json, body.as_bytes(), &names(&["a", "b"]), 1000)
    }

    #[test]
    fn four_json_shapes_and_csv_give_the_same_matrix() {
        let bodies = [
            r#"{"dataframe_split": {"columns": ["b", "x", "a"], "data": [[2, "s", 1.5], [4, "t", 3]]}}"#,
            r#"{"dataframe_records": [{"a": 1.5, "b": 2}, {"b": 4, "a": 3}]}"#,
            r#"{"instances": [{"a": 1.5, "b": 2}, {"a": 3, "b": 4}], "params": [1]}"#,
            r#"{"inputs": {"a": [1.5, 3], "b": [2, "4"]}}"#,
        ];
        for body in bodies {
            let m = json(body).unwrap_or_else(|e| panic!("{body}: {e:?}"));
            assert_eq!(m.as_slice(), &[1.5, 2.0, 3.0, 4.0], "{body}");
        }
        let m = parse(
            Format::Csv,
            b"b,a\r\n2, 1.5\n\n4,3\n",
            &names(&["a", "b"]),
            10,
        )
        .unwrap();
        assert_eq!(m.as_slice(), &[1.5, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn bad_inputs_get_mlflow_codes_in_mlflow_order() {
        let code = |body: &str| json(body).map(|_| ()).map_err(|r| r.body().1);
        let is = |body: &str, want: &str| {
            let got = code(body).unwrap_err();
            assert!(
                got.contains(&format!("\"error_code\":\"{want}\"")),
                "{body}: {got}"
            );
        };
        is("{", "BAD_REQUEST");
        is("[1]", "BAD_REQUEST");
        is(r#"{"columns": ["a"], "data": [[1]]}"#, "BAD_REQUEST");
        is(
            r#"{"inputs": {"a": [1], "b": [2]}, "instances": []}"#,
            "BAD_REQUEST",
        );
        is(
            r#"{"dataframe_split": {"columns": ["a"], "data": [[1]]}}"#,
            "INVALID_PARAMETER_VALUE",
        );
        is(
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1]]}}"#,
            "BAD_REQUEST",
        );
        is(
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [["x", 1]]}}"#,
            "BAD_REQUEST",
        );
        // A bad value in a column the model uses is found before a missing column.
        is(
            r#"{"dataframe_split": {"columns": ["a"], "data": [["x"]]}}"#,
            "BAD_REQUEST",
        );
        is(
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[null, 1]]}}"#,
            "BAD_REQUEST",
        );
        is(
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": []}}"#,
            "BAD_REQUEST",
        );
        is(r#"{"dataframe_records": []}"#, "INVALID_PARAMETER_VALUE");
        is(r#"{"inputs": [[1, 2]]}"#, "INVALID_PARAMETER_VALUE");
        is(
            r#"{"inputs": {"a": [1, 2], "b": [3]}}"#,
            "INVALID_PARAMETER_VALUE",
        );
        is(
            r#"{"messages": [], "inputs": {"a": 1, "b": 2}}"#,
            "INVALID_PARAMETER_VALUE",
        );
        let too_many = parse(
            Format::Json,
            br#"{"inputs": {"a": [1, 2], "b": [3, 4]}}"#,
            &names(&["a", "b"]),
            1,
        );
        assert_eq!(too_many.unwrap_err().status(), 413);
    }

    #[test]
    fn content_types_as_mlflow_reads_them() {
        assert_eq!(
            format_of(Some("application/json; charset=UTF-8")),
            Ok(Format::Json)
        );
        assert_eq!(format_of(Some("text/csv")), Ok(Format::Csv));
        for bad in [
            "text/plain",
            "Application/JSON",
            "application/json; format=pandas-split",
            "application/json; charset=latin-1",
            "application/vnd.apache.parquet",
        ] {
            assert_eq!(format_of(Some(bad)).unwrap_err().status(), 415, "{bad}");
        }
        assert_eq!(format_of(None).unwrap_err().status(), 415);
    }

    #[test]
    fn predictions_are_written_as_python_json_dump() {
        assert_eq!(
            predictions_json(&[5.0, 0.1 + 0.2]),
            r#"{"predictions": [5.0, 0.30000000000000004]}"#
        );
    }
}
