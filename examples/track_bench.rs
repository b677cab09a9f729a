//! Benchmark driver for bench/track.sh: logs metric points or populates runs through a `Tracker`
//! and prints one JSON line of timings. Not part of the vintner binary.

use std::time::Instant;

use vintner::track::{self, Metric, NewRun, Param, RunStatus, RunUpdate, Tag};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let uri = get("--uri");
    let points: usize = get("--points").map(|s| s.parse()).transpose()?.unwrap_or(0);
    let runs: usize = get("--runs").map(|s| s.parse()).transpose()?.unwrap_or(0);
    let experiment = get("--experiment").unwrap_or_else(|| "bench".into());
    let t0 = Instant::now();
    let tracker = track::open(uri.as_deref(), &std::env::current_dir()?)?;
    let exp = tracker.get_or_create_experiment(&experiment)?;
    let opened = t0.elapsed().as_secs_f64();
    let now = track::now_ms();
    if args.iter().any(|a| a == "--search") {
        let t = Instant::now();
        let page = tracker.search_runs(&track::SearchRuns {
            experiment_ids: vec![exp.experiment_id.clone()],
            max_results: 1000,
            ..Default::default()
        })?;
        println!(
            "{{\"mode\":\"search\",\"n\":{},\"search_s\":{:.5}}}",
            page.runs.len(),
            t.elapsed().as_secs_f64()
        );
    }
    if points > 0 {
        let t = Instant::now();
        let run = tracker.create_run(&NewRun {
            experiment_id: exp.experiment_id.clone(),
            ..Default::default()
        })?;
        let metrics: Vec<Metric> = (0..points)
            .map(|i| Metric::new("loss", 1.0 / (i + 1) as f64, now + i as i64, i as i64))
            .collect();
        tracker.log_batch(&run.info.run_id, &metrics, &[], &[])?;
        tracker.update_run(
            &run.info.run_id,
            &RunUpdate {
                status: Some(RunStatus::Finished),
                end_time: Some(track::now_ms()),
                run_name: None,
            },
        )?;
        let logged = t.elapsed().as_secs_f64();
        println!(
            "{{\"mode\":\"points\",\"points\":{points},\"open_s\":{opened:.4},\"log_s\":{logged:.4},\"total_s\":{:.4},\"run_id\":\"{}\"}}",
            t0.elapsed().as_secs_f64(),
            run.info.run_id
        );
    }
    if runs > 0 {
        let t = Instant::now();
        for i in 0..runs {
            let run = tracker.create_run(&NewRun {
                experiment_id: exp.experiment_id.clone(),
                run_name: Some(format!("run-{i}")),
                ..Default::default()
            })?;
            let metrics = vec![
                Metric::new("rmse", 0.5 + (i % 97) as f64 / 100.0, now, 0),
                Metric::new("mae", 0.3 + (i % 13) as f64 / 100.0, now, 0),
                Metric::new("r2", 0.1 + (i % 7) as f64 / 10.0, now, 0),
            ];
            let params = vec![
                Param::new("lr", if i % 2 == 0 { "0.01" } else { "0.1" }),
                Param::new("alpha", (i % 5).to_string()),
                Param::new("model", "elasticnet"),
            ];
            let tags = vec![Tag::new("stage", "bench"), Tag::new("mlflow.user", "bench")];
            tracker.log_batch(&run.info.run_id, &metrics, &params, &tags)?;
            tracker.update_run(
                &run.info.run_id,
                &RunUpdate {
                    status: Some(RunStatus::Finished),
                    end_time: Some(track::now_ms()),
                    run_name: None,
                },
            )?;
        }
        println!(
            "{{\"mode\":\"runs\",\"runs\":{runs},\"seconds\":{:.4},\"experiment_id\":\"{}\"}}",
            t.elapsed().as_secs_f64(),
            exp.experiment_id
        );
    }
    Ok(())
}
