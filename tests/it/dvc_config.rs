//! `vintner config` side by side with the real `dvc config` on identical repositories: each
//! scenario runs `dvc` in one and `vintner` in the other and compares the exit code, stdout and
//! the config files byte for byte (the project, local and global levels); after every vintner
//! command `dvc status` must still work in its repository.

use std::path::{Path, PathBuf};

use crate::common::{Sandbox, git, read, stderr};
use crate::peers;

/// Two identical fresh repositories and, for each, its own global config folder.
struct Twins {
    theirs: PathBuf,
    ours: PathBuf,
}

impl Twins {
    fn new(sb: &Sandbox) -> Twins {
        let theirs = sb.mkdir("theirs/repo");
        let ours = sb.mkdir("ours/repo");
        for root in [&theirs, &ours] {
            git(root, &["init", "--quiet"]);
            peers::dvc(sb, root).args(["init", "-q"]).assert().success();
            git(root, &["add", "-A"]);
            git(root, &["commit", "-qm", "init"]);
        }
        Twins { theirs, ours }
    }

    /// The global config folder of one twin (beside its repository).
    fn global(root: &Path) -> PathBuf {
        root.parent().expect("twin folder").join("global")
    }

    /// Runs `args` with `dvc` in `theirs` and `vintner` in `ours` (in `sub` of each), checks
    /// both exit with `code` and print the same stdout, that the config files are the same
    /// byte for byte, and that `dvc status` works after vintner. Returns vintner's stdout.
    fn both(&self, sb: &Sandbox, sub: &str, args: &[&str], code: i32) -> String {
        let theirs = peers::dvc(sb, &self.theirs.join(sub))
            .env("DVC_GLOBAL_CONFIG_DIR", Self::global(&self.theirs))
            .args(args)
            .assert()
            .code(code);
        let ours = sb
            .vintner(&self.ours.join(sub))
            .env("DVC_GLOBAL_CONFIG_DIR", Self::global(&self.ours))
            .args(args)
            .assert()
            .code(code);
        // Resolved paths name each twin's own folder; they must agree once that is set aside.
        let out = |a: &assert_cmd::assert::Assert, root: &Path| {
            let twin = root
                .parent()
                .expect("twin folder")
                .to_string_lossy()
                .into_owned();
            String::from_utf8_lossy(&a.get_output().stdout).replace(&twin, "<twin>")
        };
        assert_eq!(
            out(&theirs, &self.theirs),
            out(&ours, &self.ours),
            "stdout of `config {args:?}` (dvc left, vintner right); vintner said: {}",
            stderr(&ours)
        );
        self.same_configs(args);
        peers::dvc(sb, &self.ours)
            .env("DVC_GLOBAL_CONFIG_DIR", Self::global(&self.ours))
            .arg("status")
            .assert()
            .success();
        out(&ours, &self.ours)
    }

    fn same_configs(&self, args: &[&str]) {
        let files = [
            (
                ".dvc/config",
                self.theirs.join(".dvc/config"),
                self.ours.join(".dvc/config"),
            ),
            (
                ".dvc/config.local",
                self.theirs.join(".dvc/config.local"),
                self.ours.join(".dvc/config.local"),
            ),
            (
                "global config",
                Self::global(&self.theirs).join("config"),
                Self::global(&self.ours).join("config"),
            ),
        ];
        for (name, a, b) in files {
            assert_eq!(
                a.exists(),
                b.exists(),
                "{name} exists for one tool only after {args:?}"
            );
            if a.exists() {
                assert_eq!(
                    String::from_utf8_lossy(&read(&a)),
                    String::from_utf8_lossy(&read(&b)),
                    "{name} after `config {args:?}` (dvc left, vintner right)"
                );
            }
        }
    }
}

#[test]
fn config_sets_gets_and_validates_as_dvc_config() {
    let sb = Sandbox::new();
    let t = Twins::new(&sb);
    t.both(&sb, "", &["config", "core.autostage", "true"], 0);
    assert_eq!(t.both(&sb, "", &["config", "core.autostage"], 0), "true\n");
    assert_eq!(t.both(&sb, "", &["config", "Core.AutoStage"], 0), "true\n");
    // An option no level sets prints nothing, as DVC; with a level flag it is an error.
    assert_eq!(t.both(&sb, "", &["config", "core.nope"], 0), "");
    t.both(&sb, "", &["config", "--project", "core.nope"], 251);
    t.both(&sb, "", &["config", "--local", "remote.r2.url"], 251);
    // The schema refuses unknown options and bad values, and writes nothing.
    t.both(&sb, "", &["config", "core.bogus", "1"], 251);
    t.both(&sb, "", &["config", "core.autostage", "maybe"], 251);
    t.both(&sb, "", &["config", "cache.type", "hardlink,nonsense"], 251);
    t.both(&sb, "", &["config", "--local", "cache.type", "hardlink"], 0);
    t.both(&sb, "", &["config", "cache.shared", "group"], 0);
    // A relative path is written relative to the config file's folder.
    t.both(&sb, "", &["config", "remote.store.url", "../store"], 0);
    t.both(&sb, "", &["config", "remote.store.jobs", "4"], 0);
    t.both(&sb, "", &["config", "remote.store.jobs", "many"], 251);
    t.both(&sb, "", &["config", "core.remote", "store"], 0);
    assert_eq!(
        t.both(&sb, "", &["config", "remote.store.url"], 0),
        "<twin>/store\n"
    );
    assert_eq!(
        t.both(&sb, "", &["config", "--show-origin", "core.remote"], 0),
        ".dvc/config\tstore\n"
    );
    t.both(
        &sb,
        "",
        &["config", "--global", "core.check_update", "false"],
        0,
    );
    t.both(&sb, "", &["config", "--global", "core.check_update"], 0);
}

#[test]
fn config_lists_levels_in_dvcs_order() {
    let sb = Sandbox::new();
    let t = Twins::new(&sb);
    for root in [&t.theirs, &t.ours] {
        peers::dvc(&sb, root)
            .args(["remote", "add", "-d", "r1", "/mnt/team/dvc-store"])
            .assert()
            .success();
    }
    t.both(&sb, "", &["config", "core.autostage", "true"], 0);
    t.both(&sb, "", &["config", "--local", "cache.type", "copy"], 0);
    let listed = t.both(&sb, "", &["config", "-l"], 0);
    assert_eq!(
        listed,
        "remote.r1.url=/mnt/team/dvc-store\ncore.remote=r1\ncore.autostage=true\ncache.type=copy\n"
    );
    let origin = t.both(&sb, "", &["config", "--list", "--show-origin"], 0);
    assert!(
        origin.contains(".dvc/config.local\tcache.type=copy\n"),
        "{origin}"
    );
    t.both(&sb, "", &["config", "--local", "--list"], 0);
    // Flags DVC refuses together.
    t.both(&sb, "", &["config", "-l", "core.remote"], 1);
    t.both(
        &sb,
        "",
        &["config", "--show-origin", "core.autostage", "false"],
        1,
    );
    t.both(&sb, "", &["config"], 1);
}

#[test]
fn config_unset_removes_the_option_and_refuses_a_missing_one() {
    let sb = Sandbox::new();
    let t = Twins::new(&sb);
    t.both(&sb, "", &["config", "core.autostage", "true"], 0);
    t.both(&sb, "", &["config", "core.check_update", "false"], 0);
    t.both(&sb, "", &["config", "-u", "core.autostage"], 0);
    t.both(&sb, "", &["config", "-u", "core.autostage"], 251);
    t.both(&sb, "", &["config", "--unset", "cache.type"], 251);
    // A config emptied by an unset holds one newline, as DVC writes it.
    t.both(&sb, "", &["config", "-u", "core.check_update"], 0);
    assert_eq!(read(&t.ours.join(".dvc/config")), b"\n");
    t.both(&sb, "", &["config", "--local", "cache.type", "symlink"], 0);
    t.both(&sb, "", &["config", "--local", "-u", "cache.type"], 0);
    assert_eq!(read(&t.ours.join(".dvc/config.local")), b"\n");
}

#[test]
fn config_works_from_a_subfolder_and_rejects_a_malformed_name() {
    let sb = Sandbox::new();
    let t = Twins::new(&sb);
    for root in [&t.theirs, &t.ours] {
        std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    }
    t.both(&sb, "sub", &["config", "cache.dir", "../cache-here"], 0);
    assert_eq!(
        t.both(&sb, "sub", &["config", "cache.dir"], 0),
        "<twin>/repo/cache-here\n"
    );
    // DVC's argument parser exits with 254 and vintner's with 2: both refuse, nothing written.
    peers::dvc(&sb, &t.theirs)
        .args(["config", "foo"])
        .assert()
        .code(254);
    let out = sb.vintner(&t.ours).args(["config", "foo"]).assert().code(2);
    assert!(
        stderr(&out).contains("remote.name.option"),
        "{}",
        stderr(&out)
    );
    t.same_configs(&["config", "foo"]);
    // Outside a repository the project levels are refused with DVC's 251.
    let outside = sb.mkdir("elsewhere");
    peers::dvc(&sb, &outside)
        .args(["config", "core.remote", "x"])
        .assert()
        .code(251);
    sb.vintner(&outside)
        .args(["config", "core.remote", "x"])
        .assert()
        .code(251);
    assert!(!outside.join(".dvc").exists());
}

#[test]
fn doctor_prints_dvc_doctors_sections_and_the_same_repo_facts() {
    let sb = Sandbox::new();
    let t = Twins::new(&sb);
    for root in [&t.theirs, &t.ours] {
        crate::common::write(&root.join("data.txt"), b"doctor\n");
        peers::dvc(&sb, root)
            .args(["add", "-q", "data.txt"])
            .assert()
            .success();
        peers::dvc(&sb, root)
            .args(["remote", "add", "-d", "store", "../store"])
            .assert()
            .success();
    }
    let text = |a: assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&a.get_output().stdout).into_owned()
    };
    let theirs = text(peers::dvc(&sb, &t.theirs).arg("doctor").assert().success());
    let ours = text(sb.vintner(&t.ours).arg("doctor").assert().success());
    let line = |out: &str, head: &str| {
        out.lines()
            .find(|l| l.starts_with(head))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no `{head}` line in:\n{out}"))
    };
    for head in ["Platform:", "Supports:", "Config:", "Workspace directory:"] {
        line(&ours, head);
    }
    // What the repository is made of must read the same as DVC's findings.
    for head in [
        "Cache types:",
        "Cache directory:",
        "Caches:",
        "Remotes:",
        "Repo:",
    ] {
        assert_eq!(
            line(&theirs, head),
            line(&ours, head),
            "dvc doctor left, vintner right"
        );
    }
    // The link probe leaves nothing behind.
    assert!(!git(&t.ours, &["status", "--porcelain"]).contains("vintner-doctor"));
    peers::dvc(&sb, &t.ours).arg("status").assert().success();
    // Outside a repository only the general sections are printed.
    let outside = sb.mkdir("elsewhere");
    let plain = text(sb.vintner(&outside).arg("doctor").assert().success());
    assert!(
        plain.contains("Supports:") && !plain.contains("Remotes:"),
        "{plain}"
    );
}
