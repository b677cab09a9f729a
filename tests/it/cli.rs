//! The command line itself: help lists the workflow, errors carry hints, exit codes hold.

use crate::common::Sandbox;

const COMMANDS: [&str; 17] = [
    "init",
    "add",
    "status",
    "push",
    "pull",
    "fetch",
    "checkout",
    "gc",
    "diff",
    "remote",
    "train",
    "register",
    "infer",
    "serve",
    "experiments",
    "runs",
    "models",
];

#[test]
fn help_lists_every_workflow_command() {
    let sb = Sandbox::new();
    let out = sb.vintner(sb.path()).arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for cmd in COMMANDS {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{cmd} "))),
            "`{cmd}` missing from --help:\n{text}"
        );
    }
}

#[test]
fn every_command_has_its_own_help() {
    let sb = Sandbox::new();
    for cmd in COMMANDS {
        let out = sb
            .vintner(sb.path())
            .args([cmd, "--help"])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert!(text.contains("Usage: vintner"), "{cmd}: {text}");
        assert!(
            text.lines().next().is_some_and(|l| l.len() > 10),
            "{cmd} has no description"
        );
    }
}

#[test]
fn usage_error_exits_2() {
    let sb = Sandbox::new();
    sb.vintner(sb.path())
        .arg("no-such-command")
        .assert()
        .code(2);
    sb.vintner(sb.path())
        .args(["init", "--bogus"])
        .assert()
        .code(2);
}

#[test]
fn outside_a_repository_exits_253_as_dvc_with_error_and_hint() {
    let sb = Sandbox::new();
    let out = sb
        .vintner(sb.path())
        .args(["remote", "list"])
        .assert()
        .code(253);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("is not inside a DVC repository"), "{err}");
    assert!(err.contains("hint: run `vintner init` first"), "{err}");
}

#[test]
fn serve_outside_a_project_is_an_input_error_with_a_hint() {
    let sb = Sandbox::new();
    // DVC's exit code outside a repository, as every command that needs one.
    let out = sb.vintner(sb.path()).arg("serve").assert().code(253);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("is not inside a DVC repository"), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(out.get_output().stdout.is_empty());
}
