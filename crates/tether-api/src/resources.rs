//! The served kinds as data: group, version, kind, plural, short names, scope, verbs.
//!
//! One table feeds routing, discovery (aggregated and legacy), the NotFound/Invalid messages
//! and the store keys.

/// A subresource of a kind (`status`, `scale`, `log`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    /// Path segment.
    pub name: &'static str,
    /// Group of the response kind.
    pub group: &'static str,
    /// Version of the response kind.
    pub version: &'static str,
    /// Response kind.
    pub kind: &'static str,
    /// Verbs.
    pub verbs: &'static [&'static str],
}

/// A served resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// API group ("" for core).
    pub group: &'static str,
    /// Version.
    pub version: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Plural resource name (the URL segment).
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names (`svc`).
    pub short_names: &'static [&'static str],
    /// Categories (`all`).
    pub categories: &'static [&'static str],
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Subresources.
    pub subresources: &'static [Subresource],
    /// Spec changes bump `metadata.generation` (upstream strategies that set it).
    pub generation: bool,
    /// Writes to the main resource keep the stored status: a `status` subresource exists
    /// (derived from `subresources` by the table's constructor).
    pub status_subresource: bool,
}

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
    /// The list kind, `ServiceList`.
    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }
    /// The subresource with this name.
    pub fn subresource(&self, name: &str) -> Option<&'static Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }
}

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const NS_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const SUB_VERBS: &[&str] = &["get", "patch", "update"];

macro_rules! status_sub {
    ($g:expr, $v:expr, $k:expr) => {
        Subresource {
            name: "status",
            group: $g,
            version: $v,
            kind: $k,
            verbs: SUB_VERBS,
        }
    };
}

const SCALE: Subresource = Subresource {
    name: "scale",
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    verbs: SUB_VERBS,
};

/// A namespaced `v1` resource of `group` with all verbs; rows override the rest. Whether it
/// has a status subresource follows from `subresources`.
const fn served(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    subresources: &'static [Subresource],
) -> Resource {
    let mut status_subresource = false;
    let mut i = 0;
    while i < subresources.len() {
        status_subresource |= matches!(subresources[i].name.as_bytes(), b"status");
        i += 1;
    }
    Resource {
        group,
        version: "v1",
        kind,
        plural,
        singular,
        namespaced: true,
        short_names: &[],
        categories: &[],
        verbs: VERBS,
        subresources,
        generation: false,
        status_subresource,
    }
}

/// Every served resource.
pub static RESOURCES: &[Resource] = &[
    Resource {
        namespaced: false,
        short_names: &["ns"],
        verbs: NS_VERBS,
        ..served(
            "",
            "Namespace",
            "namespaces",
            "namespace",
            &[
                status_sub!("", "v1", "Namespace"),
                Subresource {
                    name: "finalize",
                    group: "",
                    version: "v1",
                    kind: "Namespace",
                    verbs: &["update"],
                },
            ],
        )
    },
    Resource {
        short_names: &["svc"],
        categories: &["all"],
        ..served(
            "",
            "Service",
            "services",
            "service",
            &[status_sub!("", "v1", "Service")],
        )
    },
    Resource {
        short_names: &["ep"],
        ..served("", "Endpoints", "endpoints", "endpoints", &[])
    },
    Resource {
        short_names: &["po"],
        categories: &["all"],
        ..served(
            "",
            "Pod",
            "pods",
            "pod",
            &[
                status_sub!("", "v1", "Pod"),
                Subresource {
                    name: "log",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: &["get"],
                },
                Subresource {
                    name: "binding",
                    group: "",
                    version: "v1",
                    kind: "Binding",
                    verbs: &["create"],
                },
            ],
        )
    },
    Resource {
        namespaced: false,
        short_names: &["no"],
        ..served(
            "",
            "Node",
            "nodes",
            "node",
            &[status_sub!("", "v1", "Node")],
        )
    },
    Resource {
        short_names: &["ev"],
        ..served("", "Event", "events", "event", &[])
    },
    Resource {
        short_names: &["cm"],
        ..served("", "ConfigMap", "configmaps", "configmap", &[])
    },
    served("", "Secret", "secrets", "secret", &[]),
    Resource {
        short_names: &["sa"],
        ..served(
            "",
            "ServiceAccount",
            "serviceaccounts",
            "serviceaccount",
            &[],
        )
    },
    Resource {
        short_names: &["deploy"],
        categories: &["all"],
        generation: true,
        ..served(
            "apps",
            "Deployment",
            "deployments",
            "deployment",
            &[status_sub!("apps", "v1", "Deployment"), SCALE],
        )
    },
    Resource {
        short_names: &["rs"],
        categories: &["all"],
        generation: true,
        ..served(
            "apps",
            "ReplicaSet",
            "replicasets",
            "replicaset",
            &[status_sub!("apps", "v1", "ReplicaSet"), SCALE],
        )
    },
    Resource {
        generation: true,
        ..served(
            "discovery.k8s.io",
            "EndpointSlice",
            "endpointslices",
            "endpointslice",
            &[],
        )
    },
    served("coordination.k8s.io", "Lease", "leases", "lease", &[]),
];

/// The resource served at `group/version/plural`.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The resource of an `apiVersion` + `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.kind == kind)
}

/// The served resource for a kind name in any group.
pub fn by_kind_name(kind: &str) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.kind == kind)
}

/// The groups served besides core, in discovery order, with their versions.
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !r.group.is_empty() && !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

/// `namespaces`, the resource every namespaced object lives in.
pub fn namespaces() -> &'static Resource {
    &RESOURCES[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_subresource_follows_the_subresources() {
        let with_status: Vec<&str> = RESOURCES
            .iter()
            .filter(|r| r.status_subresource)
            .map(|r| r.kind)
            .collect();
        assert_eq!(
            with_status,
            [
                "Namespace",
                "Service",
                "Pod",
                "Node",
                "Deployment",
                "ReplicaSet"
            ]
        );
        for r in RESOURCES {
            assert_eq!(
                r.status_subresource,
                r.subresource("status").is_some(),
                "{}",
                r.kind
            );
        }
    }
}
