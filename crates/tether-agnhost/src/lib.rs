//! Built-in `agnhost`: a re-implementation of the parts of Kubernetes' e2e test image
//! `registry.k8s.io/e2e-test-images/agnhost` that the Kubernetes docs and e2e manifests use.
//!
//! Newcomers start with [`main`], which takes what follows `agnhost` on a command line
//! (`["netexec", "--http-port=8888"]`) and runs the subcommand on its own tokio runtime.
//! Tests and embedders can use the typed entry points instead: [`Netexec`],
//! [`ServeHostname`] and [`HttpApp`] (liveness, test-webserver, porter, fake-gitserver); each
//! binds first (so a test can ask for port 0 and read the address back), then `run`s until the
//! given cancellation token (SIGTERM) fires or a request asks it to exit.
//!
//! Behaviour follows upstream's Go sources in `test/images/agnhost/` (netexec/netexec.go,
//! serve-hostname/serve_hostname.go, pause/pause.go, liveness/server.go, …), down to Go's
//! `net/http` habits: content sniffing, `http.Error` bodies, path-cleaning redirects,
//! title-case header names and Go's JSON escaping.

mod dns;
mod flags;
mod gotime;
mod http;
mod misc;
mod net;
mod netexec;
mod serve_hostname;

use std::future::Future;
use std::io::Write as _;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

pub use misc::{
    FakeGitServerOptions, HttpApp, LivenessOptions, PorterOptions, TestWebserverOptions,
    fake_gitserver, liveness, porter, test_webserver,
};
pub use netexec::{Netexec, NetexecOptions, netexec};
pub use serve_hostname::{SIGTERM_LINGER, ServeHostname, ServeHostnameOptions, serve_hostname};

/// What can go wrong while starting or running an agnhost subcommand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad command line: unknown flag, missing or invalid value, stray argument.
    #[error("{0}")]
    Usage(String),
    /// A listening socket could not be opened.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address we tried to listen on.
        addr: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Another I/O failure, with what we were doing.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A condition upstream treats as fatal (`log.Fatal`), e.g. conflicting modes.
    #[error("{0}")]
    Fatal(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The subcommands this agnhost implements, for help output.
const SUBCOMMANDS: &[(&str, &str)] = &[
    (
        "netexec",
        "Creates HTTP and UDP servers with various endpoints",
    ),
    ("serve-hostname", "Serves the hostname"),
    ("pause", "Pauses the execution"),
    ("liveness", "Starts a server that is alive for 10 seconds"),
    ("test-webserver", "Starts a simple HTTP fileserver"),
    (
        "porter",
        "Serves requested data on ports specified in ENV variables",
    ),
    ("fake-gitserver", "Fakes a git server"),
    ("dns-suffix", "Prints the host's DNS suffix list"),
    ("dns-server-list", "Prints the host's DNS Server list"),
    ("etc-hosts", "Prints the host's /etc/hosts file"),
];

/// The agnhost version we model (upstream's VERSION file around Kubernetes 1.33).
pub const AGNHOST_VERSION: &str = "2.53";

/// Runs `agnhost <subcommand> [flags]` and returns the process exit code.
///
/// `args` is what follows `agnhost` on the command line; a leading `/agnhost` or `agnhost` (as in
/// `command: ["/agnhost", "netexec"]`) is skipped. Flags use upstream's (pflag) syntax:
/// `--http-port=8080`, `--http-port 8080`, `-http-port=8080`, `--tcp`, `--http=false`.
/// Unknown subcommands and bad flags print a message to stderr and give exit code 1.
pub fn main(args: Vec<String>) -> ExitCode {
    let mut args = args;
    if args
        .first()
        .is_some_and(|a| a == "agnhost" || a.ends_with("/agnhost"))
    {
        args.remove(0);
    }
    let Some(sub) = args.first().cloned() else {
        eprintln!("{}", root_usage());
        return ExitCode::from(1);
    };
    let rest = &args[1..];
    match sub.as_str() {
        "-h" | "--help" | "help" => {
            print_stdout(&root_usage());
            ExitCode::SUCCESS
        }
        "--version" | "version" => {
            print_stdout(&format!("agnhost version {AGNHOST_VERSION} (tether)"));
            ExitCode::SUCCESS
        }
        "netexec" => with_help("netexec", rest, netexec::SPECS, |rest| {
            let opts = NetexecOptions::from_args(rest)?;
            Ok(run_async(move |sigterm| async move {
                Netexec::bind(opts).await?.run(sigterm).await
            }))
        }),
        "serve-hostname" => with_help("serve-hostname", rest, serve_hostname::SPECS, |rest| {
            let opts = ServeHostnameOptions::from_args(rest)?;
            Ok(run_async(move |sigterm| async move {
                ServeHostname::bind(opts).await?.run(sigterm).await
            }))
        }),
        "pause" => with_help("pause", rest, &[], |rest| {
            flags::parse("pause", rest, &[])?;
            Ok(misc::pause())
        }),
        "liveness" => with_help("liveness", rest, &[], |rest| {
            flags::parse("liveness", rest, &[])?;
            Ok(run_async(|sigterm| async move {
                liveness(LivenessOptions::default())
                    .await?
                    .run(sigterm)
                    .await
            }))
        }),
        "test-webserver" => with_help("test-webserver", rest, misc::TEST_WEBSERVER_SPECS, |rest| {
            let opts = TestWebserverOptions::from_args(rest)?;
            Ok(run_async(move |sigterm| async move {
                test_webserver(opts).await?.run(sigterm).await
            }))
        }),
        "porter" => with_help("porter", rest, misc::PORTER_SPECS, |rest| {
            let opts = PorterOptions::from_args(rest)?;
            Ok(run_async(move |sigterm| async move {
                porter(opts).await?.run(sigterm).await
            }))
        }),
        "fake-gitserver" => with_help("fake-gitserver", rest, &[], |rest| {
            flags::parse("fake-gitserver", rest, &[])?;
            Ok(run_async(|sigterm| async move {
                fake_gitserver(FakeGitServerOptions::default())
                    .await?
                    .run(sigterm)
                    .await
            }))
        }),
        "dns-suffix" | "dns-server-list" | "etc-hosts" => with_help(&sub, rest, &[], |rest| {
            flags::parse(&sub, rest, &[])?;
            let out = dns::run(&sub)?;
            print_stdout(&out);
            Ok(ExitCode::SUCCESS)
        }),
        other => {
            eprintln!("Error: unknown command {other:?} for \"agnhost\"");
            eprintln!("Run 'agnhost --help' for usage.");
            ExitCode::from(1)
        }
    }
}

/// Prints `--help` for a subcommand, or runs it; maps errors to exit code 1 like `log.Fatal`.
fn with_help(
    name: &str,
    rest: &[String],
    specs: &[flags::Spec],
    run: impl FnOnce(&[String]) -> Result<ExitCode>,
) -> ExitCode {
    if rest
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
    {
        print_stdout(&flags::usage(name, specs));
        return ExitCode::SUCCESS;
    }
    match run(rest) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}

fn root_usage() -> String {
    let mut s = String::from("Usage:\n  agnhost [command]\n\nAvailable Commands:\n");
    for (name, short) in SUBCOMMANDS {
        s.push_str(&format!("  {name:<16} {short}\n"));
    }
    s
}

/// Writes a line to stdout, ignoring a closed pipe (upstream uses fmt.Println).
pub(crate) fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

/// A current-thread runtime, or `None` after printing why it could not start.
pub(crate) fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .inspect_err(|e| eprintln!("Error: cannot start runtime: {e}"))
        .ok()
}

/// Builds a runtime, wires SIGTERM/SIGINT to a cancellation token and runs `f` to completion.
fn run_async<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = Result<u8>>,
{
    let Some(rt) = runtime() else {
        return ExitCode::from(1);
    };
    let result = rt.block_on(async move {
        let sigterm = CancellationToken::new();
        spawn_signal_watch(sigterm.clone());
        f(sigterm).await
    });
    // Don't wait for stuck blocking tasks (e.g. a /shell command that never ends).
    rt.shutdown_background();
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Cancels `token` on the first SIGTERM or SIGINT.
fn spawn_signal_watch(token: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    tokio::spawn(async move {
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("received SIGTERM"),
                    _ = int.recv() => tracing::info!("received SIGINT"),
                }
                token.cancel();
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!("cannot watch signals: {e}"),
        }
    });
}
