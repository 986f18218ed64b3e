//! What `image` means on tether, which runs no container images (no registry, no root
//! filesystems): a container is a process in the pod's network, mount and UTS namespaces.
//!
//! - `registry.k8s.io/e2e-test-images/agnhost:<any tag>` (also the older `k8s.gcr.io/…` and
//!   `gcr.io/kubernetes-e2e-test-images/agnhost`): the built-in agnhost (`tether agnhost …`),
//!   so Kubernetes e2e and docs manifests using it run unchanged. Its entrypoint is
//!   `/agnhost`; `command: ["/agnhost", "netexec", …]` and `args: ["netexec", …]` both work.
//! - `tether/host` (any tag): the container's `command` + `args` run as a host program (the
//!   host filesystem, with the pod's own network, `/etc/resolv.conf`, `/etc/hosts` and
//!   hostname). `command` is required.
//! - Anything else cannot be pulled: the container waits with `ErrImagePull`, then
//!   `ImagePullBackOff`, and an Event says why — as a kubelet without registry access would.

/// What a container runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// The built-in agnhost with these arguments (subcommand first).
    Agnhost(Vec<String>),
    /// A host program: argv[0] and its arguments.
    Host(Vec<String>),
}

/// Why an image cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullError {
    /// Waiting reason (`ErrImagePull`, `InvalidImageName`, `CreateContainerConfigError`).
    pub reason: &'static str,
    /// Message for the status and the Event.
    pub message: String,
}

const AGNHOST: &[&str] = &[
    "registry.k8s.io/e2e-test-images/agnhost",
    "k8s.gcr.io/e2e-test-images/agnhost",
    "gcr.io/kubernetes-e2e-test-images/agnhost",
];

/// The image name without tag or digest.
pub fn repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    match no_digest.rfind(':') {
        Some(i) if !no_digest[i..].contains('/') => &no_digest[..i],
        _ => no_digest,
    }
}

/// Resolves a container's image, command and args.
pub fn resolve(image: &str, command: &[String], args: &[String]) -> Result<Program, PullError> {
    if image.trim().is_empty() || image.contains(char::is_whitespace) {
        return Err(PullError {
            reason: "InvalidImageName",
            message: format!(
                "Failed to apply default image tag {image:?}: couldn't parse image name"
            ),
        });
    }
    let repo = repository(image);
    if AGNHOST.contains(&repo) {
        let mut argv: Vec<String> = command.iter().chain(args).cloned().collect();
        if argv
            .first()
            .is_some_and(|a| a == "/agnhost" || a == "agnhost")
        {
            argv.remove(0);
        }
        return Ok(Program::Agnhost(argv));
    }
    if repo == "tether/host" {
        let argv: Vec<String> = command.iter().chain(args).cloned().collect();
        if command.is_empty() {
            return Err(PullError {
                reason: "CreateContainerConfigError",
                message: "image tether/host runs the container's command on the host; command is required".into(),
            });
        }
        return Ok(Program::Host(argv));
    }
    let full = if repo.contains('/') {
        image.to_owned()
    } else {
        format!("docker.io/library/{image}")
    };
    Err(PullError {
        reason: "ErrImagePull",
        message: format!(
            "Failed to pull image {image:?}: rpc error: failed to pull and unpack image {full:?}: tether runs no container images; use registry.k8s.io/e2e-test-images/agnhost or tether/host"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn agnhost_host_and_unknown() {
        assert_eq!(
            resolve(
                "registry.k8s.io/e2e-test-images/agnhost:2.39",
                &s(&["/agnhost", "netexec", "--http-port=8888"]),
                &[]
            ),
            Ok(Program::Agnhost(s(&["netexec", "--http-port=8888"])))
        );
        assert_eq!(
            resolve(
                "registry.k8s.io/e2e-test-images/agnhost:2.53",
                &[],
                &s(&["serve-hostname"])
            ),
            Ok(Program::Agnhost(s(&["serve-hostname"])))
        );
        assert_eq!(
            resolve("tether/host", &s(&["sleep"]), &s(&["10"])),
            Ok(Program::Host(s(&["sleep", "10"])))
        );
        let e = resolve("nginx", &[], &[]).unwrap_err();
        assert_eq!(e.reason, "ErrImagePull");
        assert!(e.message.contains("docker.io/library/nginx"));
        assert_eq!(repository("localhost:5000/x/y:1.0"), "localhost:5000/x/y");
    }
}
