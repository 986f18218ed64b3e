//! Running the real kubectl (any installed version) against a test server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Directory of the versioned kubectl binaries on the machine image.
pub const VERSIONED_DIR: &str = "/usr/lib/google-cloud-sdk/bin";

/// A kubectl of one version bound to one kubeconfig, with its own HOME (so the discovery
/// cache of one test never leaks into another).
#[derive(Debug)]
pub struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

/// The result of one kubectl (or other command) run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with both streams unless the command succeeded; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "command failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }
    /// Panics unless the command failed; returns stderr.
    #[track_caller]
    pub fn fails(&self) -> &str {
        assert_ne!(
            self.code, 0,
            "command unexpectedly succeeded:\n{}",
            self.stdout
        );
        &self.stderr
    }

    /// Panics unless the command failed with `msg` in its stderr.
    #[track_caller]
    pub fn fails_with(&self, msg: &str) {
        assert!(
            self.fails().contains(msg),
            "want {msg:?} in stderr:\n{}",
            self.stderr
        );
    }
}

/// A finished command's exit code and output.
pub(crate) fn from_output(o: Output) -> Run {
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

impl Kubectl {
    /// The default `kubectl` on the PATH (the gcloud dispatcher on this image).
    pub fn new(kubeconfig: &Path) -> Option<Self> {
        Self::with_bin(PathBuf::from("kubectl"), kubeconfig)
    }

    /// `kubectl.1.<minor>` from the image's versioned copies.
    pub fn version(minor: u32, kubeconfig: &Path) -> Option<Self> {
        Self::with_bin(
            Path::new(VERSIONED_DIR).join(format!("kubectl.1.{minor}")),
            kubeconfig,
        )
    }

    fn with_bin(bin: PathBuf, kubeconfig: &Path) -> Option<Self> {
        let found = if bin.is_absolute() {
            bin.is_file()
        } else {
            crate::have_program(&bin.to_string_lossy())
        };
        if !crate::require(found, &format!("kubectl ({})", bin.display())) {
            return None;
        }
        Some(Self {
            bin,
            kubeconfig: kubeconfig.to_path_buf(),
            home: tempfile::tempdir().ok()?,
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.home.path())
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        c
    }

    /// Runs kubectl with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        from_output(self.command(args).output().expect("run kubectl"))
    }

    /// `-n NS get RESOURCE NAME -o jsonpath=PATH`.
    pub fn jsonpath(&self, ns: &str, resource: &str, name: &str, path: &str) -> Run {
        self.run(&[
            "-n",
            ns,
            "get",
            resource,
            name,
            "-o",
            &format!("jsonpath={path}"),
        ])
    }

    /// Runs kubectl with `args` and `input` on stdin.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        from_output(child.wait_with_output().expect("kubectl output"))
    }

    /// Runs kubectl with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        from_output(c.output().expect("run kubectl"))
    }

    /// Starts kubectl in the background (e.g. `get -w`), output captured to files.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kubectl")
    }

    /// The kubeconfig.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }
}
