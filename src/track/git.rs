//! MLflow's standard system tags for a run (`mlflow.user`, `mlflow.source.*`), with the git
//! facts read by [`crate::git::lineage`] like the Python client reads them with GitPython.
//! Missing git or a folder outside a repository simply leaves the git tags out. The repository
//! URL never carries credentials: user info is dropped as MLflow's `get_git_repo_url` does.

use std::path::Path;

use crate::track::Tag;

pub const USER: &str = "mlflow.user";
pub const SOURCE_NAME: &str = "mlflow.source.name";
pub const SOURCE_TYPE: &str = "mlflow.source.type";
pub const GIT_COMMIT: &str = "mlflow.source.git.commit";
pub const GIT_BRANCH: &str = "mlflow.source.git.branch";
pub const GIT_REPO_URL: &str = "mlflow.source.git.repoURL";
pub const RUN_NAME: &str = "mlflow.runName";

/// The values of MLflow's system tags. Build it yourself, or with [`SystemTags::gather`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemTags {
    pub user: Option<String>,
    /// What ran, e.g. `vintner train` (MLflow puts the script name here).
    pub source_name: Option<String>,
    /// `LOCAL` for a command run on this machine.
    pub source_type: Option<String>,
    pub git_commit: Option<String>,
    pub git_branch: Option<String>,
    pub git_repo_url: Option<String>,
}

impl SystemTags {
    /// Reads the user from the environment (as Python's `getpass.getuser`) and the commit,
    /// branch and `origin` URL of the repository containing `dir`.
    pub fn gather(dir: &Path, source_name: &str) -> SystemTags {
        Self::from_lineage(&crate::git::lineage(dir), source_name)
    }

    /// The same from git facts already read.
    pub fn from_lineage(git: &crate::git::Lineage, source_name: &str) -> SystemTags {
        let git = git.clone();
        SystemTags {
            user: user_name(),
            source_name: Some(source_name.to_string()),
            source_type: Some("LOCAL".to_string()),
            git_commit: git.commit,
            git_branch: git.branch,
            git_repo_url: git
                .origin
                .map(|url| crate::redact::strip_credentials(&url).into_owned()),
        }
    }

    /// The tags to pass to `create_run`, only those with a value.
    pub fn to_tags(&self) -> Vec<Tag> {
        [
            (USER, &self.user),
            (SOURCE_NAME, &self.source_name),
            (SOURCE_TYPE, &self.source_type),
            (GIT_COMMIT, &self.git_commit),
            (GIT_BRANCH, &self.git_branch),
            (GIT_REPO_URL, &self.git_repo_url),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| Tag::new(k, v.clone())))
        .collect()
    }
}

/// The login name recorded as a run's user (the neutral helper the data layer shares).
pub use crate::login::user_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_tags_skips_missing_values() {
        let t = SystemTags {
            user: Some("alice".into()),
            source_type: Some("LOCAL".into()),
            ..Default::default()
        };
        assert_eq!(
            t.to_tags(),
            vec![Tag::new(USER, "alice"), Tag::new(SOURCE_TYPE, "LOCAL")]
        );
    }

    #[test]
    fn from_lineage_strips_credentials_from_the_repo_url() {
        let git = crate::git::Lineage {
            origin: Some("https://oauth2:TOKEN@git.example/org/repo.git".into()),
            ..Default::default()
        };
        let t = SystemTags::from_lineage(&git, "vintner train");
        assert_eq!(
            t.git_repo_url.as_deref(),
            Some("https://git.example/org/repo.git")
        );
    }

    #[test]
    fn gather_reads_a_real_repository() {
        let dir = std::env::temp_dir().join(format!(
            "vintner-git-{}",
            crate::track::validate::new_run_id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(&dir)
                .args(args)
                .output()
                .map(|o| o.status.success());
            assert_eq!(ok.ok(), Some(true), "git {args:?}");
        };
        run(&["init", "-q", "-b", "trunk"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x",
        ]);
        run(&[
            "remote",
            "add",
            "origin",
            "https://bob:ghp_secret123@example.com/acme/repo.git",
        ]);
        let t = SystemTags::gather(&dir, "vintner train");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(t.git_branch.as_deref(), Some("trunk"));
        assert_eq!(t.git_commit.as_ref().map(|c| c.len()), Some(40));
        // the token in the remote URL never reaches the tag
        assert_eq!(
            t.git_repo_url.as_deref(),
            Some("https://example.com/acme/repo.git")
        );
        assert_eq!(t.source_name.as_deref(), Some("vintner train"));
        assert_eq!(t.source_type.as_deref(), Some("LOCAL"));
    }
}
