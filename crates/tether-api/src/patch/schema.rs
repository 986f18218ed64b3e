//! Patch metadata of the built-in kinds: which lists merge and by which key.
//!
//! Upstream reads the `patchStrategy`/`patchMergeKey` struct tags of the Go types by reflection
//! (`strategicpatch.PatchMetaFromStruct`). This is the same information as a small type graph:
//! a [`Ty`] is a Go struct that has, somewhere below it, a field with a patch tag; [`lookup`]
//! gives a field's tags and the type of its value (of its elements, for a list). Every field
//! that is not listed has no tags: maps under it merge key by key, lists under it are replaced.
//!
//! Sources (tags as of kubernetes/api and kubernetes/apimachinery master, July 2026; the set is
//! the same in 1.27-1.33 apart from fields that did not exist yet):
//! - `k8s.io/apimachinery/pkg/apis/meta/v1/types.go` `ObjectMeta`: `finalizers` merge (set of
//!   strings), `ownerReferences` merge by `uid`;
//! - `k8s.io/api/core/v1/types.go`: `PodSpec` `volumes` (merge,retainKeys by `name`),
//!   `initContainers`/`containers`/`ephemeralContainers`/`imagePullSecrets`/`schedulingGates`/
//!   `evictionResponders` by `name`, `hostAliases` by `ip`, `topologySpreadConstraints` by
//!   `topologyKey`, `resourceClaims` (merge,retainKeys by `name`); `Container` and
//!   `EphemeralContainerCommon` `ports` by `containerPort`, `env` by `name`, `volumeMounts` by
//!   `mountPath`, `volumeDevices` by `devicePath`; `PodStatus` `conditions` by `type`,
//!   `hostIPs`/`podIPs` by `ip`, `resourceClaimStatuses` (merge,retainKeys by `name`),
//!   `nodeAllocatableResourceClaimStatuses` by `resourceClaimName` (its `mapping`/`overhead` by
//!   `name`); `ServiceSpec.ports` by `port`; `ServiceStatus`, `NamespaceStatus`,
//!   `PersistentVolumeClaimStatus`, `ReplicationControllerStatus` `conditions` by `type`;
//!   `NodeSpec.podCIDRs` merge (set of strings); `NodeStatus` `conditions` and `addresses` by
//!   `type`; `ServiceAccount.secrets` by `name`;
//! - `k8s.io/api/apps/v1/types.go`: `DeploymentSpec.strategy` retainKeys; `Deployment`,
//!   `ReplicaSet`, `StatefulSet`, `DaemonSet` status `conditions` by `type`;
//! - `k8s.io/api/batch/v1/types.go`: `JobStatus.conditions` by `type`;
//! - no tags at all in `discovery/v1` (EndpointSlice), `coordination/v1` (Lease), `Endpoints`,
//!   `ConfigMap`, `Secret`, `Event`, `autoscaling/v1 Scale`.
//!
//! Deliberately untagged upstream, hence replaced as a whole: `tolerations`, `readinessGates`,
//! `envFrom`, `resizePolicy`, `containerStatuses`, `subsets`, `endpoints`, node `taints`,
//! Namespace `spec.finalizers`, `status.loadBalancer.ingress`.

/// A field's patch strategy (`patchStrategy` tag, minus `retainKeys`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Strategy {
    /// No tag: maps merge, lists are replaced.
    Default,
    /// `merge`: lists merge (maps by the merge key, scalars as a set).
    Merge,
    /// `replace`: the value is replaced as a whole, even a map.
    Replace,
}

/// The patch tags of one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldMeta {
    /// `patchStrategy` without `retainKeys`.
    pub(crate) strategy: Strategy,
    /// `patchStrategy` includes `retainKeys` (only the client uses it: the server applies a
    /// `$retainKeys` directive wherever it appears).
    pub(crate) retain_keys: bool,
    /// `patchMergeKey`, empty when none.
    pub(crate) merge_key: &'static str,
}

const NONE: FieldMeta = FieldMeta {
    strategy: Strategy::Default,
    retain_keys: false,
    merge_key: "",
};

const fn merge(key: &'static str) -> FieldMeta {
    FieldMeta {
        strategy: Strategy::Merge,
        retain_keys: false,
        merge_key: key,
    }
}

const fn merge_retain(key: &'static str) -> FieldMeta {
    FieldMeta {
        strategy: Strategy::Merge,
        retain_keys: true,
        merge_key: key,
    }
}

const RETAIN: FieldMeta = FieldMeta {
    strategy: Strategy::Default,
    retain_keys: true,
    merge_key: "",
};

/// A Go struct with tagged fields below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ty {
    /// Nothing tagged below: maps merge, lists are replaced.
    Opaque,
    /// A top-level object of a kind without tagged fields outside `metadata`.
    Object,
    /// `Pod`.
    Pod,
    /// `PodTemplate`.
    PodTemplate,
    /// `Deployment`, `ReplicaSet`, `StatefulSet`, `DaemonSet`, `ReplicationController`, `Job`:
    /// a pod template under `spec.template`, conditions under `status`.
    Workload,
    /// `CronJob`.
    CronJob,
    /// `Service`.
    Service,
    /// `Node`.
    Node,
    /// `Namespace`, `PersistentVolumeClaim`: conditions under `status`.
    WithConditions,
    /// `ServiceAccount`.
    ServiceAccount,
    /// `ObjectMeta`.
    ObjectMeta,
    /// `PodTemplateSpec`.
    PodTemplateSpec,
    /// `PodSpec`.
    PodSpec,
    /// `Container`, `EphemeralContainer`.
    Container,
    /// `PodStatus`.
    PodStatus,
    /// `NodeAllocatableResourceClaimStatus`.
    NodeAllocatableClaimStatus,
    /// `DeploymentSpec`, `ReplicaSetSpec`, `StatefulSetSpec`, `DaemonSetSpec`,
    /// `ReplicationControllerSpec`, `JobSpec`.
    WorkloadSpec,
    /// `CronJobSpec`.
    CronJobSpec,
    /// `JobTemplateSpec`.
    JobTemplateSpec,
    /// A status whose `conditions` merge by `type`.
    ConditionsStatus,
    /// `ServiceSpec`.
    ServiceSpec,
    /// `NodeSpec`.
    NodeSpec,
    /// `NodeStatus`.
    NodeStatus,
    /// Upstream's test struct `MergeItem` (`strategicpatch/patch_test.go`).
    #[cfg(test)]
    MergeItem,
    /// Upstream's test struct `RetainKeysMergeItem`.
    #[cfg(test)]
    RetainKeysMergeItem,
}

/// The kinds whose Go type tether knows, so that a strategic merge patch is meaningful.
const KNOWN_KINDS: &[&str] = &[
    "Binding",
    "ConfigMap",
    "CronJob",
    "DaemonSet",
    "Deployment",
    "EndpointSlice",
    "Endpoints",
    "Event",
    "Job",
    "Lease",
    "Namespace",
    "Node",
    "PersistentVolumeClaim",
    "Pod",
    "PodTemplate",
    "ReplicaSet",
    "ReplicationController",
    "Scale",
    "Secret",
    "Service",
    "ServiceAccount",
    "StatefulSet",
];

/// Whether `kind` is a built-in kind with patch metadata here.
pub(crate) fn is_known_kind(kind: &str) -> bool {
    KNOWN_KINDS.contains(&kind)
}

/// The type of a whole object of `kind`.
pub(crate) fn root(kind: &str) -> Ty {
    match kind {
        "Pod" => Ty::Pod,
        "PodTemplate" => Ty::PodTemplate,
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicationController"
        | "Job" => Ty::Workload,
        "CronJob" => Ty::CronJob,
        "Service" => Ty::Service,
        "Node" => Ty::Node,
        "Namespace" | "PersistentVolumeClaim" => Ty::WithConditions,
        "ServiceAccount" => Ty::ServiceAccount,
        _ => Ty::Object,
    }
}

/// The tags of field `name` of `ty`, and the type of its value (for a list: of its elements).
pub(crate) fn lookup(ty: Ty, name: &str) -> (FieldMeta, Ty) {
    use Ty as T;
    match (ty, name) {
        (T::Object | T::Pod | T::Workload | T::CronJob | T::Service | T::Node, "metadata")
        | (T::WithConditions | T::ServiceAccount | T::PodTemplate, "metadata")
        | (T::PodTemplateSpec | T::JobTemplateSpec, "metadata") => (NONE, T::ObjectMeta),
        (T::ObjectMeta, "finalizers") => (merge(""), T::Opaque),
        (T::ObjectMeta, "ownerReferences") => (merge("uid"), T::Opaque),

        (T::Pod, "spec") => (NONE, T::PodSpec),
        (T::Pod, "status") => (NONE, T::PodStatus),
        (T::PodTemplate | T::WorkloadSpec, "template") => (NONE, T::PodTemplateSpec),
        (T::PodTemplateSpec, "spec") => (NONE, T::PodSpec),
        (T::Workload | T::JobTemplateSpec, "spec") => (NONE, T::WorkloadSpec),
        (T::Workload | T::WithConditions, "status") => (NONE, T::ConditionsStatus),
        (T::WorkloadSpec, "strategy") => (RETAIN, T::Opaque),
        (T::CronJob, "spec") => (NONE, T::CronJobSpec),
        (T::CronJobSpec, "jobTemplate") => (NONE, T::JobTemplateSpec),
        (T::ConditionsStatus, "conditions") => (merge("type"), T::Opaque),

        (T::PodSpec, "volumes" | "resourceClaims") => (merge_retain("name"), T::Opaque),
        (T::PodSpec, "initContainers" | "containers" | "ephemeralContainers") => {
            (merge("name"), T::Container)
        }
        (T::PodSpec, "imagePullSecrets" | "schedulingGates" | "evictionResponders") => {
            (merge("name"), T::Opaque)
        }
        (T::PodSpec, "hostAliases") => (merge("ip"), T::Opaque),
        (T::PodSpec, "topologySpreadConstraints") => (merge("topologyKey"), T::Opaque),
        (T::Container, "ports") => (merge("containerPort"), T::Opaque),
        (T::Container, "env") => (merge("name"), T::Opaque),
        (T::Container, "volumeMounts") => (merge("mountPath"), T::Opaque),
        (T::Container, "volumeDevices") => (merge("devicePath"), T::Opaque),
        (T::PodStatus, "conditions") => (merge("type"), T::Opaque),
        (T::PodStatus, "hostIPs" | "podIPs") => (merge("ip"), T::Opaque),
        (T::PodStatus, "resourceClaimStatuses") => (merge_retain("name"), T::Opaque),
        (T::PodStatus, "nodeAllocatableResourceClaimStatuses") => {
            (merge("resourceClaimName"), T::NodeAllocatableClaimStatus)
        }
        (T::NodeAllocatableClaimStatus, "mapping" | "overhead") => (merge("name"), T::Opaque),

        (T::Service, "spec") => (NONE, T::ServiceSpec),
        (T::Service, "status") => (NONE, T::ConditionsStatus),
        (T::ServiceSpec, "ports") => (merge("port"), T::Opaque),

        (T::Node, "spec") => (NONE, T::NodeSpec),
        (T::Node, "status") => (NONE, T::NodeStatus),
        (T::NodeSpec, "podCIDRs") => (merge(""), T::Opaque),
        (T::NodeStatus, "conditions" | "addresses") => (merge("type"), T::Opaque),

        (T::ServiceAccount, "secrets") => (merge("name"), T::Opaque),

        #[cfg(test)]
        (T::MergeItem | T::RetainKeysMergeItem, "mergingList") => (merge("name"), T::MergeItem),
        #[cfg(test)]
        (T::MergeItem | T::RetainKeysMergeItem, "nonMergingList") => (NONE, T::MergeItem),
        #[cfg(test)]
        (T::MergeItem | T::RetainKeysMergeItem, "mergingIntList") => (merge(""), T::Opaque),
        #[cfg(test)]
        (T::MergeItem, "mergeItemPtr") => (merge("name"), T::MergeItem),
        #[cfg(test)]
        (T::MergeItem, "replacingItem") => (
            FieldMeta {
                strategy: Strategy::Replace,
                retain_keys: false,
                merge_key: "",
            },
            T::Opaque,
        ),
        #[cfg(test)]
        (T::MergeItem, "retainKeysMap") => (RETAIN, T::RetainKeysMergeItem),
        #[cfg(test)]
        (T::MergeItem, "retainKeysMergingList") => (merge_retain("name"), T::MergeItem),

        _ => (NONE, T::Opaque),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_template_paths_resolve() {
        for kind in [
            "Deployment",
            "ReplicaSet",
            "StatefulSet",
            "DaemonSet",
            "Job",
        ] {
            let (_, spec) = lookup(root(kind), "spec");
            let (_, tpl) = lookup(spec, "template");
            let (_, pod) = lookup(tpl, "spec");
            let (meta, c) = lookup(pod, "containers");
            assert_eq!((meta.merge_key, c), ("name", Ty::Container), "{kind}");
            assert_eq!(lookup(c, "env").0.merge_key, "name");
            assert_eq!(lookup(c, "ports").0.merge_key, "containerPort");
            assert_eq!(lookup(c, "envFrom").0, NONE);
        }
        let (_, spec) = lookup(root("CronJob"), "spec");
        let (_, jt) = lookup(spec, "jobTemplate");
        let (_, js) = lookup(jt, "spec");
        let (_, tpl) = lookup(js, "template");
        assert_eq!(lookup(tpl, "metadata").1, Ty::ObjectMeta);
    }

    #[test]
    fn untagged_lists_have_no_strategy() {
        let (_, pod) = lookup(root("Pod"), "spec");
        for f in ["tolerations", "readinessGates"] {
            assert_eq!(lookup(pod, f).0, NONE, "{f}");
        }
        let (_, c) = lookup(pod, "containers");
        assert_eq!(lookup(c, "resizePolicy").0, NONE);
        assert_eq!(lookup(root("Endpoints"), "subsets").0, NONE);
        assert_eq!(lookup(root("EndpointSlice"), "endpoints").0, NONE);
    }

    #[test]
    fn every_kind_has_object_meta() {
        for kind in KNOWN_KINDS.iter().chain(&["Widget"]) {
            let (_, m) = lookup(root(kind), "metadata");
            assert_eq!(m, Ty::ObjectMeta, "{kind}");
            assert_eq!(lookup(m, "ownerReferences").0.merge_key, "uid");
            assert_eq!(lookup(m, "finalizers").0.strategy, Strategy::Merge);
        }
    }
}
