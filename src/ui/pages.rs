//! The pages of `vintner ui`, as maud templates over what the [`Tracker`] returns. Every value a
//! store holds (names, tags, params) is spliced through maud, which escapes it; links are built
//! with [`href`] and [`path_segment`], which encode it.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::chart::{self, Series};
use super::{Error, Page, Query, UiState};
use crate::cli::tracking::{duration, number, utc};
use crate::pipeline::lineage::{self, DataRef, ModelRef};
use crate::track::filter::{Entity, parse_order_by};
use crate::track::git as systags;
use crate::track::{Metric, ModelVersion, Run, SearchExperiments, SearchModels, SearchRuns};

/// Runs per page unless `max_results` says otherwise.
const PAGE_SIZE: usize = 100;
/// The most runs one page of the runs table shows.
const MAX_PAGE_SIZE: usize = 1000;
/// `/compare` takes this many runs at most.
const MAX_COMPARED: usize = 20;

const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0;
  --head: #f6f8fa; --link: #0757c4; --diff: #fff5c2; --err: #b3261e; --plot: #fbfcfd; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1216; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --head: #161b22;
    --link: #6cb6ff; --diff: #3b3414; --err: #ff8a80; --plot: #12161c; } }
body { background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, sans-serif;
  margin: 0 auto; padding: 0 1.5rem 3rem; max-width: 88rem; }
header.top { display: flex; gap: 1.5rem; align-items: baseline; border-bottom: 1px solid var(--line);
  padding: .8rem 0; margin-bottom: 1rem; }
header.top strong { font-size: 1.1rem; }
a { color: var(--link); }
a:focus, button:focus, input:focus, summary:focus { outline: 2px solid var(--link); outline-offset: 2px; }
h1 { font-size: 1.4rem; margin: .6rem 0; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; }
th, td { border: 1px solid var(--line); padding: .25rem .55rem; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs > * { background: var(--diff); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
pre { background: var(--head); border: 1px solid var(--line); padding: .5rem .7rem; overflow-x: auto; }
.muted { color: var(--muted); }
.error { border: 2px solid var(--err); padding: .6rem .9rem; margin: 1rem 0; }
.error strong { color: var(--err); }
.scroll { overflow-x: auto; }
form.filter input[type=text] { width: min(40rem, 90%); font: inherit; padding: .2rem .4rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0; width: 560px; max-width: 100%; }
figure.chart svg { width: 100%; height: auto; }
svg rect.plot { fill: var(--plot); stroke: var(--line); }
svg text { fill: var(--muted); font-size: 11px; }
svg .node rect { fill: var(--head); stroke: var(--line); }
svg .node text { fill: var(--fg); font-size: 12px; }
svg line.edge { stroke: var(--muted); stroke-width: 1.5; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .3rem 1rem; margin: .2rem 0; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
nav.pages { display: flex; gap: 1rem; }
"#;

/// Every page: the same header, title and style; no script.
fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · vintner" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.top {
                    strong { "vintner" }
                    nav { a href="/" { "Experiments" } " · " a href="/models" { "Models" } }
                }
                main { (body) }
            }
        }
    }
}

/// The page for an error: what went wrong and the fix.
pub fn error_page(status: StatusCode, message: &str, hint: Option<&str>) -> Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    layout(
        title,
        html! {
            h1 { (status.as_u16()) " " (title) }
            div.error role="alert" {
                p { strong { "error: " } (message) }
                @if let Some(h) = hint { p { "hint: " (h) } }
            }
        },
    )
}

/// Percent-encodes one path segment (a model name may hold spaces, `/`, `?`).
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path?k=v&…`, values encoded, empty values left out.
pub fn href(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        ser.append_pair(k, v);
    }
    let q = ser.finish();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{q}")
    }
}

fn run_link(run_id: &str) -> String {
    format!("/runs/{}", path_segment(run_id))
}

fn model_link(name: &str) -> String {
    format!("/models/{}", path_segment(name))
}

fn short(commit: &str) -> &str {
    commit.get(..8).unwrap_or(commit)
}

// ---- experiments ---------------------------------------------------------------------------

pub fn experiments(s: &UiState) -> Result<Markup, Error> {
    let mut all = Vec::new();
    let mut q = SearchExperiments::default();
    loop {
        let page = s.tracker.search_experiments(&q)?;
        all.extend(page.experiments);
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    Ok(layout(
        "Experiments",
        html! {
            h1 { "Experiments" }
            p.muted { "Tracking store: " code { (crate::redact::Redacted(s.tracker.uri())) } }
            @if all.is_empty() {
                p { "No experiments yet: " code { "vintner train" } " records the first run." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "ID" } th { "Created (UTC)" }
                        th { "Last update (UTC)" } th { "Artifact location" } } }
                    tbody {
                        @for e in &all {
                            tr {
                                td { a href=(format!("/experiments/{}", path_segment(&e.experiment_id))) { (e.name) } }
                                td.mono { (e.experiment_id) }
                                td { (utc(e.creation_time)) }
                                td { (utc(e.last_update_time)) }
                                td.mono { (e.artifact_location) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// What the runs table of an experiment shows, from its address.
struct RunsView {
    filter: String,
    order_by: String,
    page_token: String,
    max_results: usize,
    params: bool,
    all_metrics: bool,
}

impl RunsView {
    fn from_query(q: &Query) -> Result<RunsView, Error> {
        let max_results = match q.get("max_results") {
            None => PAGE_SIZE,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                .ok_or_else(|| Error::BadQuery {
                    param: "max_results",
                    reason: format!("`{v}` is not a whole number from 1 to {MAX_PAGE_SIZE}"),
                })?,
        };
        Ok(RunsView {
            filter: q.get("filter").unwrap_or("").trim().to_string(),
            order_by: q.get("order_by").unwrap_or("").trim().to_string(),
            page_token: q.get("page_token").unwrap_or("").to_string(),
            max_results,
            params: q.get("params").is_some_and(|v| v != "0"),
            all_metrics: q.get("metrics") == Some("all"),
        })
    }

    /// This view's address with some values replaced.
    fn link(&self, id: &str, order_by: &str, page_token: &str) -> String {
        let max = self.max_results.to_string();
        href(
            &format!("/experiments/{}", path_segment(id)),
            &[
                ("filter", &self.filter),
                ("order_by", order_by),
                ("page_token", page_token),
                (
                    "max_results",
                    if self.max_results == PAGE_SIZE {
                        ""
                    } else {
                        &max
                    },
                ),
                ("params", if self.params { "1" } else { "" }),
                ("metrics", if self.all_metrics { "all" } else { "" }),
            ],
        )
    }
}

/// The metric columns: keys sorted on first, the registry metric, the metrics `train` logs in
/// their usual order, then (with `metrics=all`) every other key alphabetically; only keys some
/// run of the page has.
fn metric_columns(runs: &[Run], view: &RunsView, registry_metric: &str) -> Vec<String> {
    let present: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let mut wanted: Vec<String> = Vec::new();
    if let Ok(o) = parse_order_by(&view.order_by)
        && o.entity == Entity::Metric
    {
        wanted.push(o.key);
    }
    wanted.push(registry_metric.to_string());
    wanted.push(format!("{registry_metric}_std"));
    wanted.extend(
        crate::ml::metrics::METRIC_NAMES
            .iter()
            .map(|m| m.to_string()),
    );
    if view.all_metrics {
        wanted.extend(present.iter().map(|m| m.to_string()));
    }
    let mut cols: Vec<String> = Vec::new();
    for k in wanted {
        if present.contains(k.as_str()) && !cols.contains(&k) {
            cols.push(k);
        }
    }
    cols
}

/// An order_by clause on one column; keys are quoted so dots and spaces survive.
fn order_clause(entity: &str, key: &str, ascending: bool) -> String {
    let dir = if ascending { "ASC" } else { "DESC" };
    if entity == "attributes" {
        format!("attributes.{key} {dir}")
    } else {
        format!("{entity}.`{key}` {dir}")
    }
}

/// A sortable column header: a link that sorts by it (ascending first, then the other way),
/// with `aria-sort` on the column the table is sorted by.
fn sort_header(
    view: &RunsView,
    id: &str,
    label: &str,
    entity: &str,
    key: &str,
    num: bool,
) -> Markup {
    let current = parse_order_by(&view.order_by).ok();
    let want_entity = match entity {
        "metrics" => Entity::Metric,
        "params" => Entity::Param,
        "tags" => Entity::Tag,
        _ => Entity::Attribute,
    };
    let sorted_here = current
        .as_ref()
        .filter(|o| o.entity == want_entity && o.key == key);
    let (aria, next_ascending, arrow) = match sorted_here {
        Some(o) if o.ascending => ("ascending", false, " ▲"),
        Some(_) => ("descending", true, " ▼"),
        None => ("none", true, ""),
    };
    let link = view.link(id, &order_clause(entity, key, next_ascending), "");
    html! {
        th class=[num.then_some("num")] aria-sort=(aria) scope="col" {
            a href=(link) { (label) (arrow) }
        }
    }
}

pub fn experiment(s: &UiState, id: &str, q: &Query) -> Result<Page, Error> {
    let exp = s.tracker.get_experiment(id)?;
    let view = RunsView::from_query(q)?;
    let search = SearchRuns {
        experiment_ids: vec![exp.experiment_id.clone()],
        filter: (!view.filter.is_empty()).then(|| view.filter.clone()),
        order_by: if view.order_by.is_empty() {
            Vec::new()
        } else {
            vec![view.order_by.clone()]
        },
        max_results: view.max_results,
        page_token: (!view.page_token.is_empty()).then(|| view.page_token.clone()),
        ..SearchRuns::default()
    };
    let (page, problem) = match s.tracker.search_runs(&search) {
        Ok(page) => (Some(page), None),
        // A filter or sort that does not parse: the page says why, with the form to fix it.
        Err(
            e @ (crate::track::Error::Filter(_)
            | crate::track::Error::PageToken(_)
            | crate::track::Error::Invalid { .. }),
        ) => (None, Some(Error::Track(e))),
        Err(e) => return Err(e.into()),
    };
    let runs = page.as_ref().map(|p| p.runs.as_slice()).unwrap_or(&[]);
    let metrics = metric_columns(runs, &view, &s.registry_metric);
    let params: Vec<String> = if view.params {
        runs.iter()
            .flat_map(|r| r.data.params.iter().map(|p| p.key.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let toggle = |params: bool, all_metrics: bool| {
        let v = RunsView {
            params,
            all_metrics,
            filter: view.filter.clone(),
            order_by: view.order_by.clone(),
            page_token: view.page_token.clone(),
            max_results: view.max_results,
        };
        v.link(id, &view.order_by, &view.page_token)
    };
    let body = html! {
        h1 { "Experiment " (exp.name) }
        p.muted { "ID " span.mono { (exp.experiment_id) } " · artifacts " span.mono { (exp.artifact_location) } }
        form.filter method="get" action=(format!("/experiments/{}", path_segment(id))) {
            label for="filter" { "Filter " }
            input #filter type="text" name="filter" value=(view.filter)
                placeholder="metrics.rmse < 0.7 and params.model = 'extra-trees'";
            @if !view.order_by.is_empty() { input type="hidden" name="order_by" value=(view.order_by); }
            @if view.params { input type="hidden" name="params" value="1"; }
            @if view.all_metrics { input type="hidden" name="metrics" value="all"; }
            " " button type="submit" { "Apply" }
            " " a href=(format!("/experiments/{}", path_segment(id))) { "Clear" }
        }
        p.muted {
            "Same grammar as " code { "vintner runs list --filter" } ". "
            a href=(toggle(!view.params, view.all_metrics)) {
                @if view.params { "Hide params" } @else { "Show params" }
            }
            " · "
            a href=(toggle(view.params, !view.all_metrics)) {
                @if view.all_metrics { "Main metrics only" } @else { "All metrics" }
            }
        }
        @if let Some(e) = &problem {
            div.error role="alert" {
                p { strong { "error: " } (e.to_string()) }
                @if let Some(h) = e.hint() { p { "hint: " (h) } }
            }
        }
        @if let Some(page) = &page {
            @if page.runs.is_empty() {
                p { "No runs match." }
            } @else {
                form method="get" action="/compare" {
                    div.scroll {
                        table #runs {
                            thead {
                                tr {
                                    th scope="col" { span.muted { "Compare" } }
                                    (sort_header(&view, id, "Run", "attributes", "run_name", false))
                                    (sort_header(&view, id, "Run ID", "attributes", "run_id", false))
                                    (sort_header(&view, id, "Status", "attributes", "status", false))
                                    (sort_header(&view, id, "Started (UTC)", "attributes", "start_time", false))
                                    th.num scope="col" { "Duration (s)" }
                                    (sort_header(&view, id, "User", "attributes", "user_id", false))
                                    (sort_header(&view, id, "Commit", "tags", systags::GIT_COMMIT, false))
                                    @for m in &metrics { (sort_header(&view, id, m, "metrics", m, true)) }
                                    @for p in &params { (sort_header(&view, id, &format!("params.{p}"), "params", p, false)) }
                                }
                            }
                            tbody {
                                @for r in &page.runs {
                                    tr {
                                        td { input type="checkbox" name="runs" value=(r.info.run_id)
                                            aria-label=(format!("compare {}", r.info.run_name)); }
                                        td { a href=(run_link(&r.info.run_id)) { (r.info.run_name) } }
                                        td.mono { (r.info.run_id) }
                                        td { (r.info.status) }
                                        td { (utc(r.info.start_time)) }
                                        td.num { (duration(r.info.start_time, r.info.end_time)) }
                                        td { (r.info.user_id) }
                                        td.mono { (r.data.tag(systags::GIT_COMMIT).map(short).unwrap_or("-")) }
                                        @for m in &metrics {
                                            td.num { (r.data.metric(m).map_or("-".into(), |m| number(m.value))) }
                                        }
                                        @for p in &params { td { (r.data.param(p).unwrap_or("-")) } }
                                    }
                                }
                            }
                        }
                    }
                    button type="submit" { "Compare selected runs" }
                }
                nav.pages aria-label="pages" {
                    @if !view.page_token.is_empty() {
                        a href=(view.link(id, &view.order_by, "")) { "First page" }
                    }
                    @if let Some(t) = &page.next_page_token {
                        a href=(view.link(id, &view.order_by, t)) rel="next" { "Next page" }
                    }
                }
            }
        }
    };
    Ok(Page {
        status: if problem.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        body: layout(&format!("Experiment {}", exp.name), body),
    })
}

// ---- a run ---------------------------------------------------------------------------------

/// Mean and spread of each metric `train` logs with a `_std` twin.
fn mean_std(run: &Run, key: &str) -> Option<String> {
    let std = run.data.metric(&format!("{key}_std"))?;
    let mean = run.data.metric(key)?;
    Some(format!("{} ± {}", number(mean.value), number(std.value)))
}

/// The data files a run trained on: the `vintner.data` list, else the single-file tags.
fn data_refs(run: &Run) -> Vec<DataRef> {
    if let Some(list) = run
        .data
        .tag(lineage::DATA)
        .and_then(|v| serde_json::from_str::<Vec<DataRef>>(v).ok())
    {
        return list;
    }
    match (
        run.data.tag(lineage::DATA_PATH),
        run.data.tag(lineage::DATA_MD5),
    ) {
        (Some(path), Some(md5)) => vec![DataRef {
            path: path.to_string(),
            md5: md5.to_string(),
            size: 0,
            remote: run.data.tag(lineage::DATA_REMOTE).map(str::to_string),
        }],
        _ => Vec::new(),
    }
}

/// The name of a path's last component (`models/wine-quality` → `wine-quality`).
fn file_name(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

fn lineage_section(run: &Run, versions: &[ModelVersion]) -> Markup {
    let id = &run.info.run_id;
    let commit = run.data.tag(systags::GIT_COMMIT);
    let data = data_refs(run);
    let model = ModelRef::from_tags(&run.data.tags);
    html! {
        h2 { "Lineage" }
        @if data.is_empty() && model.is_none() {
            p.muted { "This run records no data or model versions (vintner's "
                code { "vintner.data" } " and " code { "vintner.model.*" } " tags)." }
        }
        @if !data.is_empty() {
            h3 { "Data" }
            table {
                thead { tr { th { "Path" } th { "md5" } th { "Remote" } } }
                tbody { @for d in &data { tr {
                    td.mono { (d.path) } td.mono { (d.md5) } td { (d.remote.as_deref().unwrap_or("default")) }
                } } }
            }
            @if run.data.tag(lineage::UNVERSIONED_DATA).is_some() {
                p.error { "This run trained on data that differed from its " code { ".dvc" } " file." }
            }
            p { "Fetch this exact data version (its " code { ".dvc" } " file as of the run's commit):" }
            pre { @for d in &data {
                @if let Some(c) = commit { "git checkout " (c) " -- " (d.path) ".dvc\n" }
                "vintner pull " (d.path) "      # or: dvc pull " (d.path) "\n"
            } }
        }
        @if let Some(m) = &model {
            h3 { "Model" }
            table { tbody {
                tr { th scope="row" { "Path" } td.mono { (m.path) } }
                tr { th scope="row" { "md5" } td.mono { (m.md5) } }
                tr { th scope="row" { "Remote" } td { (if m.remote.is_empty() { "default" } else { &m.remote }) }
                    }
                @if !m.remote_url.is_empty() {
                    tr { th scope="row" { "Object" } td.mono { (crate::redact::Redacted(&m.source())) } }
                }
            } }
            p { "Fetch these exact model bytes (the run logged the model's " code { ".dvc" } " file):" }
            pre {
                "vintner infer --run " (id) "      # pulls, verifies and predicts\n"
                "vintner artifacts download runs:/" (id) "/model/" (file_name(&m.path)) ".dvc -o "
                (m.path.rsplit_once('/').map_or(".", |(dir, _)| dir)) " --force\n"
                "vintner pull " (m.path) "      # or: dvc pull " (m.path) "\n"
            }
        }
        @if !versions.is_empty() {
            h3 { "Registered as" }
            ul { @for v in versions { li {
                a href=(model_link(&v.name)) { (v.name) " version " (v.version) }
                @for a in &v.aliases { " " code { "@" (a) } }
            } } }
        }
    }
}

fn kv_table(rows: &[(&str, &str)]) -> Markup {
    html! {
        table { thead { tr { th scope="col" { "Key" } th scope="col" { "Value" } } }
            tbody { @for (k, v) in rows { tr { td.mono { (k) } td { (v) } } } } }
    }
}

/// The history of each metric, oldest step first.
fn histories(s: &UiState, run: &Run) -> Result<BTreeMap<String, Vec<Metric>>, Error> {
    let mut out = BTreeMap::new();
    for m in &run.data.metrics {
        let mut h = s.tracker.get_metric_history(&run.info.run_id, &m.key)?;
        h.sort_by_key(|m| (m.step, m.timestamp));
        out.insert(m.key.clone(), h);
    }
    Ok(out)
}

/// What a step means for a metric `train` logs: a fold, an iteration, else a step.
fn step_label(key: &str) -> &'static str {
    if key.starts_with("fold_") {
        "fold"
    } else if key.starts_with("train_") {
        "iteration"
    } else {
        "step"
    }
}

pub fn run(s: &UiState, run_id: &str) -> Result<Markup, Error> {
    let run = s.tracker.get_run(run_id)?;
    let i = &run.info;
    let experiment = s.tracker.get_experiment(&i.experiment_id).ok();
    let history = histories(s, &run)?;
    let versions = s
        .tracker
        .search_model_versions(&SearchModels {
            filter: Some(format!("run_id = '{}'", i.run_id)),
            ..SearchModels::default()
        })
        .map(|p| p.model_versions)
        .unwrap_or_default();
    let inputs = s.tracker.get_run_inputs(&i.run_id).unwrap_or_default();
    let logged = s
        .tracker
        .search_logged_models(std::slice::from_ref(&i.experiment_id), Some(&i.run_id))
        .unwrap_or_default();
    let charted: Vec<(&String, &Vec<Metric>)> =
        history.iter().filter(|(_, h)| h.len() > 1).collect();
    let body = html! {
        h1 { "Run " (i.run_name) }
        table { tbody {
            tr { th scope="row" { "Run ID" } td.mono { (i.run_id) } }
            tr { th scope="row" { "Experiment" } td {
                a href=(format!("/experiments/{}", path_segment(&i.experiment_id))) {
                    (experiment.as_ref().map_or(i.experiment_id.as_str(), |e| e.name.as_str()))
                } } }
            tr { th scope="row" { "Status" } td { (i.status)
                @if i.lifecycle_stage != "active" { " (" (i.lifecycle_stage) ")" } } }
            tr { th scope="row" { "Started (UTC)" } td { (utc(i.start_time)) } }
            tr { th scope="row" { "Ended (UTC)" } td { (utc(i.end_time)) } }
            tr { th scope="row" { "Duration (s)" } td { (duration(i.start_time, i.end_time)) } }
            tr { th scope="row" { "User" } td { (i.user_id) } }
            tr { th scope="row" { "Git commit" } td.mono { (run.data.tag(systags::GIT_COMMIT).unwrap_or("-"))
                @if let Some(b) = run.data.tag(systags::GIT_BRANCH) { " (" (b) ")" } } }
            tr { th scope="row" { "Artifacts" } td.mono { (i.artifact_uri) } }
        } }
        (lineage_section(&run, &versions))
        @if !inputs.is_empty() {
            h3 { "Dataset inputs" }
            table { thead { tr { th { "Name" } th { "Digest" } th { "Context" } th { "Source type" } th { "Source" } } }
                tbody { @for d in &inputs { tr {
                    td { (d.dataset.name) } td.mono { (d.dataset.digest) } td { (d.context().unwrap_or("-")) }
                    td { (d.dataset.source_type) } td.mono { (d.dataset.source) }
                } } } }
        }
        @if !logged.is_empty() {
            h3 { "Logged models (MLflow 3)" }
            table { thead { tr { th { "Model ID" } th { "Name" } th { "Status" } th { "Type" } th { "Artifacts" } } }
                tbody { @for m in &logged { tr {
                    td.mono { (m.model_id) } td { (m.name) } td { (m.status) }
                    td { (m.model_type.as_deref().unwrap_or("-")) } td.mono { (m.artifact_location) }
                } } } }
        }
        h2 { "Metrics" }
        @if run.data.metrics.is_empty() { p.muted { "No metrics logged yet." } } @else {
            table {
                thead { tr { th scope="col" { "Key" } th.num scope="col" { "Latest" }
                    th.num scope="col" { "Mean ± std over folds" } th.num scope="col" { "Step" }
                    th.num scope="col" { "Points" } th.num scope="col" { "Min … max" } } }
                tbody { @for m in &run.data.metrics {
                    @let h = history.get(&m.key).map(Vec::as_slice).unwrap_or(&[]);
                    @let finite = h.iter().map(|p| p.value).filter(|v| v.is_finite());
                    @let (lo, hi) = finite.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
                    tr {
                        td.mono { (m.key) }
                        td.num { (number(m.value)) }
                        td.num { (mean_std(&run, &m.key).unwrap_or_default()) }
                        td.num { (m.step) }
                        td.num { (h.len()) }
                        td.num { @if lo <= hi { (number(lo)) " … " (number(hi)) } @else { "-" } }
                    }
                } }
            }
        }
        @if !charted.is_empty() {
            h2 { "Metric history" }
            div.charts { @for (key, h) in &charted {
                (chart::line_chart(key, step_label(key), &[Series {
                    label: (*key).clone(),
                    points: h.iter().map(|p| (p.step as f64, p.value)).collect(),
                }]))
            } }
        }
        h2 { "Params" }
        @if run.data.params.is_empty() { p.muted { "No params." } } @else {
            (kv_table(&run.data.params.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect::<Vec<_>>()))
        }
        h2 { "Tags" }
        (kv_table(&run.data.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect::<Vec<_>>()))
    };
    Ok(layout(&format!("Run {}", i.run_name), body))
}

// ---- compare -------------------------------------------------------------------------------

pub fn compare(s: &UiState, q: &Query) -> Result<Markup, Error> {
    let mut ids: Vec<String> = Vec::new();
    for id in q.all("runs").flat_map(|v| v.split(',')).map(str::trim) {
        if !id.is_empty() && !ids.iter().any(|i| i == id) {
            ids.push(id.to_string());
        }
    }
    if ids.len() < 2 || ids.len() > MAX_COMPARED {
        return Err(Error::BadQuery {
            param: "runs",
            reason: format!(
                "{} run ids given; compare takes 2 to {MAX_COMPARED}, as `?runs=<id>,<id>`",
                ids.len()
            ),
        });
    }
    let runs = ids
        .iter()
        .map(|id| s.tracker.get_run(id))
        .collect::<Result<Vec<_>, _>>()?;
    let mut histories_by_run = Vec::new();
    for r in &runs {
        histories_by_run.push(histories(s, r)?);
    }
    let param_keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    let metric_keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let charted: Vec<&str> = metric_keys
        .iter()
        .copied()
        .filter(|k| {
            histories_by_run
                .iter()
                .any(|h| h.get(*k).is_some_and(|h| h.len() > 1))
        })
        .collect();
    let label = |r: &Run| format!("{} ({})", r.info.run_name, short(&r.info.run_id));
    let scatter = scatter_section(s, &runs, &ids, q, &param_keys, &metric_keys)?;
    let body = html! {
        h1 { "Compare " (runs.len()) " runs" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "" }
                @for r in &runs { th scope="col" { a href=(run_link(&r.info.run_id)) { (r.info.run_name) }
                    br; span.mono { (r.info.run_id) } } }
            } }
            tbody {
                tr { th scope="row" { "status" } @for r in &runs { td { (r.info.status) } } }
                tr { th scope="row" { "started (UTC)" } @for r in &runs { td { (utc(r.info.start_time)) } } }
                tr { th scope="row" { "duration (s)" } @for r in &runs { td.num { (duration(r.info.start_time, r.info.end_time)) } } }
                tr { th scope="row" { "commit" } @for r in &runs { td.mono { (r.data.tag(systags::GIT_COMMIT).map(short).unwrap_or("-")) } } }
                tr { th scope="row" { "model md5" } @for r in &runs { td.mono { (r.data.tag(lineage::MODEL_MD5).unwrap_or("-")) } } }
                @for k in &param_keys {
                    @let values: Vec<&str> = runs.iter().map(|r| r.data.param(k).unwrap_or("-")).collect();
                    @let differs = values.iter().any(|v| *v != values[0]);
                    tr class=[differs.then_some("differs")] {
                        th scope="row" { "params." (k) @if differs { " ≠" } }
                        @for v in &values { td { (v) } }
                    }
                }
                @for k in &metric_keys {
                    tr { th scope="row" { "metrics." (k) }
                        @for r in &runs { td.num { (r.data.metric(k).map_or("-".into(), |m| number(m.value))) } } }
                }
            }
        } }
        p.muted { "Rows marked ≠ differ between the runs." }
        @if !charted.is_empty() {
            h2 { "Metric history" }
            div.charts { @for k in &charted {
                @let series: Vec<Series> = runs.iter().zip(&histories_by_run).map(|(r, h)| Series {
                    label: label(r),
                    points: h.get(*k).map(|h| h.iter().map(|p| (p.step as f64, p.value)).collect()).unwrap_or_default(),
                }).collect();
                (chart::line_chart(k, step_label(k), &series))
            } }
        }
        (scatter)
    };
    Ok(layout("Compare runs", body))
}

/// Runs of an experiment the scatter reads at most (pages of 1000).
const MAX_SCATTER_RUNS: usize = 10_000;

/// A param against a metric over every run of the first compared run's experiment, the compared
/// runs in their own colour; the form picks the two (`x=<param>&y=<metric>`).
fn scatter_section(
    s: &UiState,
    runs: &[Run],
    ids: &[String],
    q: &Query,
    param_keys: &BTreeSet<&str>,
    metric_keys: &BTreeSet<&str>,
) -> Result<Markup, Error> {
    let x = q.get("x").unwrap_or("");
    let y = q.get("y").unwrap_or("");
    let experiment_id = &runs[0].info.experiment_id;
    let mut plot = html! {};
    if !x.is_empty() && !y.is_empty() {
        let mut search = SearchRuns {
            experiment_ids: vec![experiment_id.clone()],
            ..SearchRuns::default()
        };
        let (mut others, mut chosen) = (Vec::new(), Vec::new());
        let mut seen = 0;
        loop {
            let page = s.tracker.search_runs(&search)?;
            seen += page.runs.len();
            for r in &page.runs {
                let point = r
                    .data
                    .param(x)
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .zip(r.data.metric(y).map(|m| m.value));
                if let Some(p) = point {
                    if ids.contains(&r.info.run_id) {
                        chosen.push(p);
                    } else {
                        others.push(p);
                    }
                }
            }
            match page.next_page_token {
                Some(t) if seen < MAX_SCATTER_RUNS => search.page_token = Some(t),
                _ => break,
            }
        }
        let series = [
            Series {
                label: "other runs".into(),
                points: others,
            },
            Series {
                label: "compared runs".into(),
                points: chosen,
            },
        ];
        plot = html! {
            (chart::scatter(&format!("{y} by {x}"), x, &series))
            p.muted { "Runs whose " code { (x) } " is not a number are left out." }
        };
    }
    let runs_value = ids.join(",");
    Ok(html! {
        h2 { "Param against metric, over the experiment" }
        form method="get" action="/compare" {
            input type="hidden" name="runs" value=(runs_value);
            label { "param " select name="x" { @for k in param_keys {
                option value=(k) selected[*k == x] { (k) } } } }
            " "
            label { "metric " select name="y" { @for k in metric_keys {
                option value=(k) selected[*k == y] { (k) } } } }
            " " button type="submit" { "Plot" }
        }
        (plot)
    })
}

// ---- registry ------------------------------------------------------------------------------

pub fn models(s: &UiState) -> Result<Markup, Error> {
    let mut all = Vec::new();
    let mut q = SearchModels::default();
    loop {
        let page = s.tracker.search_registered_models(&q)?;
        all.extend(page.registered_models);
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    Ok(layout(
        "Models",
        html! {
            h1 { "Registered models" }
            @if all.is_empty() {
                p { "No registered models yet: " code { "vintner register" } " registers the best run." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Aliases" } th { "Last update (UTC)" } th { "Description" } } }
                    tbody { @for m in &all { tr {
                        td { a href=(model_link(&m.name)) { (m.name) } }
                        td { @for a in &m.aliases { code { "@" (a.alias) } " → version " (a.version) br; } }
                        td { (utc(m.last_updated_timestamp)) }
                        td { (m.description.as_deref().unwrap_or("")) }
                    } } }
                }
            }
        },
    ))
}

/// An MLflow filter string literal for `value`.
fn quoted(value: &str) -> String {
    if value.contains('\'') && !value.contains('"') {
        format!("\"{value}\"")
    } else {
        format!("'{}'", value.replace('\'', "''"))
    }
}

/// One version's lineage as a row of boxes: data md5 → run → model md5 → version → aliases.
fn lineage_graph(v: &ModelVersion, run: Option<&Run>, model_md5: Option<&str>) -> Markup {
    let data: Vec<String> = run
        .map(|r| data_refs(r).into_iter().map(|d| d.md5).collect())
        .unwrap_or_default();
    // (kind, shown, full value, link)
    let mut nodes: Vec<(&str, String, String, Option<String>)> = vec![
        (
            "data",
            data.iter().map(|m| short(m)).collect::<Vec<_>>().join(", "),
            data.join(", "),
            None,
        ),
        (
            "run",
            run.map_or(String::new(), |r| r.info.run_name.clone()),
            run.map_or(String::new(), |r| r.info.run_id.clone()),
            run.map(|r| run_link(&r.info.run_id)),
        ),
        (
            "model",
            model_md5.map_or(String::new(), |m| short(m).to_string()),
            model_md5.unwrap_or_default().to_string(),
            None,
        ),
        (
            "version",
            format!("{} v{}", v.name, v.version),
            format!("{} version {}", v.name, v.version),
            None,
        ),
    ];
    for a in &v.aliases {
        nodes.push(("alias", format!("@{a}"), format!("@{a}"), None));
    }
    let w = 150.0;
    let gap = 28.0;
    let total = nodes.len() as f64 * (w + gap) - gap + 2.0;
    let node = |x: f64, kind: &str, shown: &str, full: &str| {
        let shown = if shown.is_empty() { "-" } else { shown };
        html! {
            title { (kind) ": " (if full.is_empty() { "-" } else { full }) }
            rect x=(x) y="1" width=(w) height="50" rx="6" {}
            text x=(x + 8.0) y="20" { (kind) }
            text x=(x + 8.0) y="40" { (shown.chars().take(20).collect::<String>()) }
        }
    };
    html! {
        svg.lineage xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {total} 52")) width=(total)
            height="52" role="img" aria-label=(format!("lineage of {} version {}", v.name, v.version)) {
            @for (n, (kind, shown, full, link)) in nodes.iter().enumerate() {
                @let x = 1.0 + n as f64 * (w + gap);
                @if let Some(href) = link {
                    a href=(href) { g.node { (node(x, kind, shown, full)) } }
                } @else {
                    g.node { (node(x, kind, shown, full)) }
                }
                @if n + 1 < nodes.len() {
                    line.edge x1=(x + w) y1="26" x2=(x + w + gap) y2="26" {}
                }
            }
        }
    }
}

pub fn model(s: &UiState, name: &str) -> Result<Markup, Error> {
    let rm = s.tracker.get_registered_model(name)?;
    let mut versions = Vec::new();
    let mut q = SearchModels {
        filter: Some(format!("name = {}", quoted(name))),
        ..SearchModels::default()
    };
    loop {
        let page = s.tracker.search_model_versions(&q)?;
        versions.extend(page.model_versions);
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    versions.sort_by_key(|v| std::cmp::Reverse(v.version));
    let rows: Vec<(ModelVersion, Option<Run>)> = versions
        .into_iter()
        .map(|v| {
            let run = v
                .run_id
                .as_deref()
                .and_then(|id| s.tracker.get_run(id).ok());
            (v, run)
        })
        .collect();
    let model_md5 = |v: &ModelVersion, run: Option<&Run>| -> Option<String> {
        v.tags
            .iter()
            .find(|t| t.key == lineage::MODEL_MD5)
            .map(|t| t.value.clone())
            .or_else(|| run.and_then(|r| r.data.tag(lineage::MODEL_MD5).map(str::to_string)))
    };
    let body = html! {
        h1 { "Model " (rm.name) }
        @if let Some(d) = &rm.description { p { (d) } }
        h2 { "Aliases" }
        @if rm.aliases.is_empty() { p.muted { "No aliases." } } @else {
            ul { @for a in &rm.aliases { li { code { "@" (a.alias) } " → version " (a.version)
                @if let Some(ms) = lineage::alias_since(&rm, &a.alias) { " since " (utc(Some(ms))) }
            } } }
        }
        h2 { "Versions" }
        @if rows.is_empty() { p.muted { "No versions." } } @else {
            div.scroll { table {
                thead { tr { th.num scope="col" { "Version" } th scope="col" { "Aliases" }
                    th scope="col" { "Created (UTC)" } th scope="col" { "Run" } th scope="col" { "Model md5" }
                    th scope="col" { "Data md5" } th scope="col" { "Source" } } }
                tbody { @for (v, run) in &rows { tr {
                    td.num { (v.version) }
                    td { @for a in &v.aliases { code { "@" (a) } " " } }
                    td { (utc(v.creation_timestamp)) }
                    td { @if let Some(id) = &v.run_id { a href=(run_link(id)) { span.mono { (id) } } } @else { "-" } }
                    td.mono { (model_md5(v, run.as_ref()).unwrap_or_else(|| "-".into())) }
                    td.mono { @if let Some(r) = run { @for d in data_refs(r) { (d.md5) br; } } @else { "-" } }
                    td.mono { (v.source.as_deref().unwrap_or("-")) }
                } } }
            } }
            h2 { "Lineage" }
            p.muted { "data md5 → run → model md5 → registered version → aliases" }
            @for (v, run) in &rows {
                div.scroll { (lineage_graph(v, run.as_ref(), model_md5(v, run.as_ref()).as_deref())) }
            }
        }
    };
    Ok(layout(&format!("Model {}", rm.name), body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_encode_what_the_store_holds() {
        assert_eq!(path_segment("wine quality/v?1"), "wine%20quality%2Fv%3F1");
        assert_eq!(
            href(
                "/experiments/1",
                &[("filter", "metrics.rmse < 1"), ("order_by", "")]
            ),
            "/experiments/1?filter=metrics.rmse+%3C+1"
        );
        assert_eq!(quoted("o'brien"), "\"o'brien\"");
        assert_eq!(quoted("plain"), "'plain'");
    }

    #[test]
    fn sort_clauses_quote_keys_and_parse_back() {
        let c = order_clause("metrics", "fold_rmse", true);
        let o = parse_order_by(&c).unwrap();
        assert_eq!(
            (o.entity, o.key.as_str(), o.ascending),
            (Entity::Metric, "fold_rmse", true)
        );
        let t = parse_order_by(&order_clause("tags", systags::GIT_COMMIT, false)).unwrap();
        assert_eq!(t.key, systags::GIT_COMMIT);
        assert!(!t.ascending);
    }

    #[test]
    fn error_page_escapes_the_message() {
        let html = error_page(StatusCode::NOT_FOUND, "run `<x>` not found", None).into_string();
        assert!(
            html.contains("run `&lt;x&gt;` not found") && html.contains("404"),
            "{html}"
        );
    }
}
