//! `vintner init` against the real `dvc init` / `dvc remote add -d`: same bytes, and the real DVC
//! accepts the result.

use crate::common::{Sandbox, git, read};
use crate::peers;

#[test]
fn init_writes_dvc_bytes_and_real_dvc_accepts_it() {
    let sb = Sandbox::new();
    let ours = sb.mkdir("ours");
    let theirs = sb.mkdir("theirs");
    let remote = sb.path().join("remote-store");

    sb.vintner(&ours)
        .args(["init", "--remote"])
        .arg(&remote)
        .assert()
        .success();

    // The same layout made by the real DVC.
    git(&theirs, &["init", "--quiet"]);
    peers::dvc(&sb, &theirs).arg("init").assert().success();
    for f in [".dvc/.gitignore", ".dvcignore"] {
        assert_eq!(
            read(&ours.join(f)),
            read(&theirs.join(f)),
            "{f} differs from dvc init's"
        );
    }
    assert_eq!(read(&theirs.join(".dvc/config")), b"");
    peers::dvc(&sb, &theirs)
        .args(["remote", "add", "-d", "local"])
        .arg(&remote)
        .assert()
        .success();
    assert_eq!(
        read(&ours.join(".dvc/config")),
        read(&theirs.join(".dvc/config")),
        ".dvc/config differs from `dvc remote add -d`'s"
    );
    assert!(remote.is_dir(), "the remote folder is created");

    // git sees the DVC files staged, and the real DVC is happy with the repository.
    let status = git(&ours, &["status", "--porcelain"]);
    for f in [
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        "vintner.toml",
        ".gitignore",
    ] {
        assert!(
            status.contains(&format!("A  {f}")),
            "{f} not staged:\n{status}"
        );
    }
    peers::dvc(&sb, &ours).arg("status").assert().success();
    peers::dvc(&sb, &ours)
        .args(["remote", "default"])
        .assert()
        .success()
        .stdout("local\n");
}

#[test]
fn init_twice_changes_nothing_and_says_what_exists() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("proj");
    sb.vintner(&dir).arg("init").assert().success();
    // The default remote is a folder in the (sandboxed) XDG data home.
    let remotes = sb.home().join(".local/share/vintner/remotes");
    let made: Vec<_> = std::fs::read_dir(&remotes)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let remote = made[0].clone();
    let name = remote.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("proj-") && name.len() == "proj-".len() + 8,
        "{name}"
    );
    let config = read(&dir.join(".dvc/config"));
    assert_eq!(
        String::from_utf8_lossy(&config),
        format!(
            "[core]\n    remote = local\n['remote \"local\"']\n    url = {}\n",
            remote.display()
        )
    );

    std::fs::write(dir.join("vintner.toml"), "# mine\n").unwrap();
    let out = sb.vintner(&dir).arg("init").assert().success();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("exists   vintner.toml"), "{err}");
    assert!(err.contains("already a vintner project"), "{err}");
    assert_eq!(read(&dir.join("vintner.toml")), b"# mine\n");
    assert_eq!(read(&dir.join(".dvc/config")), config);
}

#[test]
fn init_accepts_a_dvc_repository_as_is() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("dvcrepo");
    git(&dir, &["init", "--quiet"]);
    peers::dvc(&sb, &dir).arg("init").assert().success();
    peers::dvc(&sb, &dir)
        .args(["remote", "add", "-d", "team", "s3://bucket/prefix"])
        .assert()
        .success();
    let before = read(&dir.join(".dvc/config"));
    let out = sb.vintner(&dir).args(["init", "--json"]).assert().success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["remote"]["name"], "team");
    assert_eq!(report["remote"]["added"], false);
    assert_eq!(read(&dir.join(".dvc/config")), before);
    assert!(dir.join("vintner.toml").is_file());
}

#[test]
fn init_inside_a_git_subfolder_is_refused() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("top/sub");
    git(&sb.path().join("top"), &["init", "--quiet"]);
    let out = sb.vintner(&dir).arg("init").assert().code(1);
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(err.contains("not at its top"), "{err}");
    assert!(!dir.join(".dvc").exists());
}

#[test]
fn init_report_snapshot() {
    let sb = Sandbox::new();
    let dir = sb.mkdir("snap");
    let out = sb.vintner(&dir).arg("init").assert().success();
    let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let filters = crate::common::path_filters(&sb);
    let filters: Vec<(&str, &str)> = filters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(err);
    });
}
