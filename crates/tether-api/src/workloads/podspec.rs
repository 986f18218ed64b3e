//! `ValidatePodSpec` and what it calls (`pkg/apis/core/validation/validation.go`), the pod
//! template checks, `ValidatePodCreate` / `ValidatePodUpdate` and the pod status update checks.
//! Deep areas tether does not run (cloud volume types, affinity terms, topology spread,
//! ephemeral containers, resize, resource claims) are accepted without semantic checks.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, EnvVar, HTTPGetAction, KeyToPath, Lifecycle, LifecycleHandler,
    ObjectFieldSelector, Pod, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceFieldSelector, ResourceRequirements, SeccompProfile, SecurityContext, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::util::{
    Qty, config_map_key, dns_label, dns_subdomain, http_header_name, inclusive_range_error,
    legacy_ip, nonnegative, push_invalid, qualified_name, regex_error, relaxed_env_var_name,
    sem_eq, simple_diff, valid_id, validate_annotations, validate_labels,
};
use crate::field::{BadValue, ErrorList, FieldError, Path};
use crate::names;

/// The `PodValidationOptions` that matter here.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Opts {
    /// The object being validated is a Pod (not a template).
    pub(super) resource_is_pod: bool,
}

/// `core.MirrorPodAnnotationKey`.
const MIRROR: &str = "kubernetes.io/config.mirror";
/// `v1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix`.
const APPARMOR: &str = "container.apparmor.security.beta.kubernetes.io/";

const FILE_MODE_ERROR: &str = "must be a number between 0 and 0777 (octal), both inclusive";

fn s(o: Option<&String>) -> &str {
    o.map_or("", String::as_str)
}

// ----------------------------------------------------------------------------------------------
// Volumes

/// `ValidateVolumes`: returns the names of the volumes that validated.
fn validate_volumes(
    errs: &mut ErrorList,
    volumes: &[Volume],
    path: &Path,
) -> BTreeMap<String, bool> {
    // name → whether the source is a PVC/ephemeral (for volumeDevices)
    let mut ok: BTreeMap<String, bool> = BTreeMap::new();
    for (i, v) in volumes.iter().enumerate() {
        let idx = path.index(i);
        let name_path = idx.child("name");
        let mut el = validate_volume_source(v, &idx);
        if v.name.is_empty() {
            el.push(FieldError::required(&name_path, ""));
        } else {
            dns_label(&mut el, &v.name, &name_path);
        }
        if ok.contains_key(&v.name) {
            el.push(FieldError::duplicate(&name_path, &v.name));
        }
        if el.is_empty() {
            ok.insert(
                v.name.clone(),
                v.persistent_volume_claim.is_some() || v.ephemeral.is_some(),
            );
        } else {
            errs.extend(el);
        }
    }
    ok
}

fn validate_volume_source(v: &Volume, path: &Path) -> ErrorList {
    let mut errs = ErrorList::new();
    // Upstream's order and (sometimes odd) child names.
    let sources: [(bool, &str); 30] = [
        (v.empty_dir.is_some(), "emptyDir"),
        (v.host_path.is_some(), "hostPath"),
        (v.git_repo.is_some(), "gitRepo"),
        (v.gce_persistent_disk.is_some(), "gcePersistentDisk"),
        (v.aws_elastic_block_store.is_some(), "awsElasticBlockStore"),
        (v.secret.is_some(), "secret"),
        (v.nfs.is_some(), "nfs"),
        (v.iscsi.is_some(), "iscsi"),
        (v.glusterfs.is_some(), "glusterfs"),
        (v.flocker.is_some(), "flocker"),
        (v.persistent_volume_claim.is_some(), "persistentVolumeClaim"),
        (v.rbd.is_some(), "rbd"),
        (v.cinder.is_some(), "cinder"),
        (v.cephfs.is_some(), "cephFS"),
        (v.quobyte.is_some(), "quobyte"),
        (v.downward_api.is_some(), "downwarAPI"),
        (v.fc.is_some(), "fc"),
        (v.flex_volume.is_some(), "flexVolume"),
        (v.config_map.is_some(), "configMap"),
        (v.azure_file.is_some(), "azureFile"),
        (v.vsphere_volume.is_some(), "vsphereVolume"),
        (v.photon_persistent_disk.is_some(), "photonPersistentDisk"),
        (v.portworx_volume.is_some(), "portworxVolume"),
        (v.azure_disk.is_some(), "azureDisk"),
        (v.storageos.is_some(), "storageos"),
        (v.projected.is_some(), "projected"),
        (v.scale_io.is_some(), "scaleIO"),
        (v.csi.is_some(), "csi"),
        (v.ephemeral.is_some(), "ephemeral"),
        (v.image.is_some(), "image"),
    ];
    let mut first: Option<&str> = None;
    for (set, name) in sources {
        if !set {
            continue;
        }
        if first.is_some() {
            errs.push(FieldError::forbidden(
                &path.child(name),
                "may not specify more than 1 volume type",
            ));
        } else {
            first = Some(name);
        }
    }
    let Some(first) = first else {
        errs.push(FieldError::required(path, "must specify a volume type"));
        return errs;
    };
    match first {
        "emptyDir" => {
            let neg = v
                .empty_dir
                .as_ref()
                .and_then(|e| e.size_limit.as_ref())
                .and_then(|q| Qty::parse(&q.0))
                .is_some_and(|q| q.nano < 0);
            if neg {
                errs.push(FieldError::forbidden(
                    &path.child("emptyDir").child("sizeLimit"),
                    "SizeLimit field must be a valid resource quantity",
                ));
            }
        }
        "hostPath" => {
            if let Some(h) = &v.host_path {
                let p = path.child("hostPath");
                if h.path.is_empty() {
                    errs.push(FieldError::required(&p.child("path"), ""));
                } else {
                    no_backsteps(&mut errs, &h.path, &p.child("path"));
                    const TYPES: [&str; 8] = [
                        "",
                        "BlockDevice",
                        "CharDevice",
                        "Directory",
                        "DirectoryOrCreate",
                        "File",
                        "FileOrCreate",
                        "Socket",
                    ];
                    if let Some(t) = &h.type_
                        && !TYPES.contains(&t.as_str())
                    {
                        errs.push(FieldError::not_supported(&p.child("type"), t, &TYPES));
                    }
                }
            }
        }
        "gitRepo" => {
            if let Some(g) = &v.git_repo {
                let p = path.child("gitRepo");
                if g.repository.is_empty() {
                    errs.push(FieldError::required(&p.child("repository"), ""));
                }
                local_descending_path(&mut errs, s(g.directory.as_ref()), &p.child("directory"));
            }
        }
        "secret" => {
            if let Some(sv) = &v.secret {
                keyed_volume(
                    &mut errs,
                    s(sv.secret_name.as_ref()),
                    "secretName",
                    sv.default_mode,
                    sv.items.as_deref(),
                    &path.child("secret"),
                );
            }
        }
        "configMap" => {
            if let Some(c) = &v.config_map {
                keyed_volume(
                    &mut errs,
                    &c.name,
                    "name",
                    c.default_mode,
                    c.items.as_deref(),
                    &path.child("configMap"),
                );
            }
        }
        "persistentVolumeClaim"
            if v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| c.claim_name.is_empty()) =>
        {
            errs.push(FieldError::required(
                &path.child("persistentVolumeClaim").child("claimName"),
                "",
            ));
        }
        "nfs" => {
            if let Some(n) = &v.nfs {
                let p = path.child("nfs");
                if n.server.is_empty() {
                    errs.push(FieldError::required(&p.child("server"), ""));
                }
                if n.path.is_empty() {
                    errs.push(FieldError::required(&p.child("path"), ""));
                }
                if !n.path.starts_with('/') {
                    errs.push(FieldError::invalid(
                        &p.child("path"),
                        &n.path,
                        "must be an absolute path",
                    ));
                }
            }
        }
        "downwarAPI" => {
            if let Some(d) = &v.downward_api {
                let p = path.child("downwardAPI");
                file_mode(&mut errs, d.default_mode, &p.child("defaultMode"));
                for f in d.items.iter().flatten() {
                    downward_api_file(
                        &mut errs,
                        &f.path,
                        f.field_ref.as_ref(),
                        f.resource_field_ref.as_ref(),
                        f.mode,
                        &p,
                    );
                }
            }
        }
        "projected" => {
            if let Some(pv) = &v.projected {
                let p = path.child("projected");
                file_mode(&mut errs, pv.default_mode, &p.child("defaultMode"));
                projected_sources(&mut errs, pv, &p);
            }
        }
        "csi" if v.csi.as_ref().is_some_and(|c| c.driver.is_empty()) => {
            errs.push(FieldError::required(&path.child("csi").child("driver"), ""));
        }
        _ => {}
    }
    errs
}

fn projected_sources(
    errs: &mut ErrorList,
    pv: &k8s_openapi::api::core::v1::ProjectedVolumeSource,
    path: &Path,
) {
    let mut all_paths: BTreeSet<String> = BTreeSet::new();
    for (i, src) in pv.sources.iter().flatten().enumerate() {
        let src_path = path.child("sources").index(i);
        let mut n = 0;
        let keyed = [
            src.secret
                .as_ref()
                .map(|x| (&x.name, x.items.as_deref(), "secret")),
            src.config_map
                .as_ref()
                .map(|x| (&x.name, x.items.as_deref(), "configMap")),
        ];
        for (name, items, child) in keyed.into_iter().flatten() {
            n += 1;
            let p = src_path.child(child);
            if name.is_empty() {
                errs.push(FieldError::required(&p.child("name"), ""));
            }
            for (j, kp) in items.unwrap_or_default().iter().enumerate() {
                key_to_path(errs, kp, &p.child("items").index(j));
                if !kp.path.is_empty() && !all_paths.insert(kp.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        name.as_str(),
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(d) = &src.downward_api {
            n += 1;
            let p = src_path.child("downwardAPI");
            for f in d.items.iter().flatten() {
                downward_api_file(
                    errs,
                    &f.path,
                    f.field_ref.as_ref(),
                    f.resource_field_ref.as_ref(),
                    f.mode,
                    &p,
                );
                if !f.path.is_empty() && !all_paths.insert(f.path.clone()) {
                    errs.push(FieldError::invalid(
                        path,
                        &f.path,
                        "conflicting duplicate paths",
                    ));
                }
            }
        }
        if let Some(t) = &src.service_account_token {
            n += 1;
            let p = src_path.child("serviceAccountToken");
            let exp = t.expiration_seconds.unwrap_or(0);
            if exp < 600 {
                errs.push(FieldError::invalid(
                    &p.child("expirationSeconds"),
                    exp,
                    "may not specify a duration less than 10 minutes",
                ));
            }
            if exp > 1 << 32 {
                errs.push(FieldError::invalid(
                    &p.child("expirationSeconds"),
                    exp,
                    "may not specify a duration larger than 2^32 seconds",
                ));
            }
            if t.path.is_empty() {
                errs.push(FieldError::required(&path.child("path"), ""));
            } else {
                local_non_reserved_path(errs, &t.path, &path.child("path"));
            }
        }
        if src.cluster_trust_bundle.is_some() {
            n += 1;
        }
        if n > 1 {
            errs.push(FieldError::forbidden(
                &src_path,
                "may not specify more than 1 volume type per source",
            ));
        }
    }
}

/// `validateSecretVolumeSource` / `validateConfigMapVolumeSource`: the required name (in field
/// `name_field`), the default mode and each item.
fn keyed_volume(
    errs: &mut ErrorList,
    name: &str,
    name_field: &str,
    default_mode: Option<i32>,
    items: Option<&[KeyToPath]>,
    path: &Path,
) {
    if name.is_empty() {
        errs.push(FieldError::required(&path.child(name_field), ""));
    }
    file_mode(errs, default_mode, &path.child("defaultMode"));
    for (i, kp) in items.unwrap_or_default().iter().enumerate() {
        key_to_path(errs, kp, &path.child("items").index(i));
    }
}

fn file_mode(errs: &mut ErrorList, mode: Option<i32>, path: &Path) {
    if let Some(m) = mode
        && !(0..=0o777).contains(&m)
    {
        errs.push(FieldError::invalid(path, m, FILE_MODE_ERROR));
    }
}

fn key_to_path(errs: &mut ErrorList, kp: &KeyToPath, path: &Path) {
    if kp.key.is_empty() {
        errs.push(FieldError::required(&path.child("key"), ""));
    }
    if kp.path.is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    local_non_reserved_path(errs, &kp.path, &path.child("path"));
    file_mode(errs, kp.mode, &path.child("mode"));
}

fn downward_api_file(
    errs: &mut ErrorList,
    file_path: &str,
    field_ref: Option<&ObjectFieldSelector>,
    resource_ref: Option<&ResourceFieldSelector>,
    mode: Option<i32>,
    path: &Path,
) {
    if file_path.is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    local_non_reserved_path(errs, file_path, &path.child("path"));
    const VOLUME_EXPRS: [&str; 5] = [
        "metadata.annotations",
        "metadata.labels",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
    ];
    if let Some(fr) = field_ref {
        object_field_selector(errs, fr, &VOLUME_EXPRS, &path.child("fieldRef"));
        if resource_ref.is_some() {
            errs.push(FieldError::invalid(
                path,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            ));
        }
    } else if let Some(rr) = resource_ref {
        resource_field_selector(errs, rr, &path.child("resourceFieldRef"), true);
    } else {
        errs.push(FieldError::required(
            path,
            "one of fieldRef and resourceFieldRef is required",
        ));
    }
    file_mode(errs, mode, &path.child("mode"));
}

/// `validatePathNoBacksteps`.
fn no_backsteps(errs: &mut ErrorList, p: &str, path: &Path) {
    if p.replace('\\', "/").split('/').any(|x| x == "..") {
        errs.push(FieldError::invalid(path, p, "must not contain '..'"));
    }
}

/// `validateLocalDescendingPath`.
fn local_descending_path(errs: &mut ErrorList, p: &str, path: &Path) {
    if p.starts_with('/') {
        errs.push(FieldError::invalid(path, p, "must be a relative path"));
    }
    no_backsteps(errs, p, path);
}

/// `ValidateLocalNonReservedPath`.
fn local_non_reserved_path(errs: &mut ErrorList, p: &str, path: &Path) {
    local_descending_path(errs, p, path);
    if p.starts_with("..") && !p.starts_with("../") {
        errs.push(FieldError::invalid(path, p, "must not start with '..'"));
    }
}

// ----------------------------------------------------------------------------------------------
// Env

const ENV_EXPRS: [&str; 9] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

const RESOURCE_EXPRS: [&str; 6] = [
    "limits.cpu",
    "limits.ephemeral-storage",
    "limits.memory",
    "requests.cpu",
    "requests.ephemeral-storage",
    "requests.memory",
];

/// `fieldpath.SplitMaybeSubscriptedPath`.
fn split_subscripted(p: &str) -> Option<(&str, &str)> {
    let s = p.strip_suffix("']")?;
    let (path, sub) = s.split_once("['")?;
    if path.is_empty() {
        return None;
    }
    Some((path, sub))
}

fn object_field_selector(
    errs: &mut ErrorList,
    fs: &ObjectFieldSelector,
    exprs: &[&str],
    path: &Path,
) {
    let version = s(fs.api_version.as_ref());
    if version.is_empty() {
        errs.push(FieldError::required(&path.child("apiVersion"), ""));
        return;
    }
    if fs.field_path.is_empty() {
        errs.push(FieldError::required(&path.child("fieldPath"), ""));
        return;
    }
    // podshelper.ConvertDownwardAPIFieldLabel
    let label = fs.field_path.as_str();
    let converted: Result<String, String> = if version != "v1" {
        Err(format!("unsupported pod version: {version}"))
    } else if let Some((p, _)) = split_subscripted(label) {
        match p {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_owned()),
            _ => Err(format!("field label does not support subscript: {label}")),
        }
    } else {
        match label {
            "metadata.annotations"
            | "metadata.labels"
            | "metadata.name"
            | "metadata.namespace"
            | "metadata.uid"
            | "spec.nodeName"
            | "spec.restartPolicy"
            | "spec.serviceAccountName"
            | "spec.schedulerName"
            | "status.phase"
            | "status.hostIP"
            | "status.hostIPs"
            | "status.podIP"
            | "status.podIPs" => Ok(label.to_owned()),
            "spec.host" => Ok("spec.nodeName".to_owned()),
            _ => Err(format!("field label not supported: {label}")),
        }
    };
    let internal = match converted {
        Ok(v) => v,
        Err(e) => {
            errs.push(FieldError::invalid(
                &path.child("fieldPath"),
                label,
                format!("error converting fieldPath: {e}"),
            ));
            return;
        }
    };
    if let Some((p, sub)) = split_subscripted(&internal) {
        match p {
            "metadata.annotations" => qualified_name(errs, &sub.to_lowercase(), path),
            "metadata.labels" => qualified_name(errs, sub, path),
            _ => errs.push(FieldError::invalid(path, p, "does not support subscript")),
        }
    } else if !exprs.contains(&internal.as_str()) {
        let mut sorted: Vec<&str> = exprs.to_vec();
        sorted.sort_unstable();
        errs.push(FieldError::not_supported(
            &path.child("fieldPath"),
            internal.as_str(),
            &sorted,
        ));
    }
}

fn resource_field_selector(
    errs: &mut ErrorList,
    fs: &ResourceFieldSelector,
    path: &Path,
    volume: bool,
) {
    if volume && s(fs.container_name.as_ref()).is_empty() {
        errs.push(FieldError::required(&path.child("containerName"), ""));
    } else if fs.resource.is_empty() {
        errs.push(FieldError::required(&path.child("resource"), ""));
    } else if !RESOURCE_EXPRS.contains(&fs.resource.as_str())
        && !fs.resource.starts_with("limits.hugepages-")
        && !fs.resource.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::not_supported(
            &path.child("resource"),
            &fs.resource,
            &RESOURCE_EXPRS,
        ));
    }
}

fn validate_env(errs: &mut ErrorList, vars: &[EnvVar], path: &Path) {
    for (i, ev) in vars.iter().enumerate() {
        let idx = path.index(i);
        if ev.name.is_empty() {
            errs.push(FieldError::required(&idx.child("name"), ""));
        } else {
            push_invalid(
                errs,
                &idx.child("name"),
                &ev.name,
                relaxed_env_var_name(&ev.name),
            );
        }
        let Some(vf) = &ev.value_from else {
            continue;
        };
        let p = idx.child("valueFrom");
        let mut n = 0;
        if let Some(fr) = &vf.field_ref {
            n += 1;
            object_field_selector(errs, fr, &ENV_EXPRS, &p.child("fieldRef"));
        }
        if let Some(rr) = &vf.resource_field_ref {
            n += 1;
            resource_field_selector(errs, rr, &p.child("resourceFieldRef"), false);
        }
        if let Some(k) = &vf.config_map_key_ref {
            n += 1;
            key_selector(errs, &k.name, &k.key, &p.child("configMapKeyRef"));
        }
        if let Some(k) = &vf.secret_key_ref {
            n += 1;
            key_selector(errs, &k.name, &k.key, &p.child("secretKeyRef"));
        }
        if n == 0 {
            errs.push(FieldError::invalid(
                &p,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !s(ev.value.as_ref()).is_empty() {
            errs.push(FieldError::invalid(
                &p,
                "",
                "may not be specified when `value` is not empty",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                &p,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

fn key_selector(errs: &mut ErrorList, name: &str, key: &str, path: &Path) {
    push_invalid(
        errs,
        &path.child("name"),
        name,
        names::dns1123_subdomain(name),
    );
    if key.is_empty() {
        errs.push(FieldError::required(&path.child("key"), ""));
    } else {
        push_invalid(errs, &path.child("key"), key, config_map_key(key));
    }
}

/// `maskTrailingDash` (as upstream writes it: the last two characters become `a`).
fn mask_trailing_dash(name: &str) -> String {
    if name.len() > 1 && name.ends_with('-') {
        format!("{}a", &name[..name.len() - 2])
    } else {
        name.to_owned()
    }
}

fn validate_env_from(errs: &mut ErrorList, vars: &[EnvFromSource], path: &Path) {
    for (i, ev) in vars.iter().enumerate() {
        let idx = path.index(i);
        let prefix = s(ev.prefix.as_ref());
        if !prefix.is_empty() {
            push_invalid(
                errs,
                &idx.child("prefix"),
                prefix,
                relaxed_env_var_name(prefix),
            );
        }
        let mut n = 0;
        let check = |name: &str, p: Path, errs: &mut ErrorList| {
            if name.is_empty() {
                errs.push(FieldError::required(&p.child("name"), ""));
            } else {
                push_invalid(
                    errs,
                    &p.child("name"),
                    name,
                    names::dns1123_subdomain(&mask_trailing_dash(name)),
                );
            }
        };
        if let Some(c) = &ev.config_map_ref {
            n += 1;
            check(c.name.as_str(), idx.child("configMapRef"), errs);
        }
        if let Some(c) = &ev.secret_ref {
            n += 1;
            check(c.name.as_str(), idx.child("secretRef"), errs);
        }
        if n == 0 {
            errs.push(FieldError::invalid(
                path,
                "",
                "must specify one of: `configMapRef` or `secretRef`",
            ));
        } else if n > 1 {
            errs.push(FieldError::invalid(
                path,
                "",
                "may not have more than one field specified at a time",
            ));
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Ports, mounts, resources

fn validate_container_ports(
    errs: &mut ErrorList,
    ports: &[k8s_openapi::api::core::v1::ContainerPort],
    path: &Path,
) {
    let mut all = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let idx = path.index(i);
        let name = s(p.name.as_ref());
        if !name.is_empty() {
            let msgs = names::port_name(name);
            if !msgs.is_empty() {
                push_invalid(errs, &idx.child("name"), name, msgs);
            } else if !all.insert(name.to_owned()) {
                errs.push(FieldError::duplicate(&idx.child("name"), name));
            }
        }
        if p.container_port == 0 {
            errs.push(FieldError::required(&idx.child("containerPort"), ""));
        } else {
            push_invalid(
                errs,
                &idx.child("containerPort"),
                p.container_port,
                names::port_num(i64::from(p.container_port)),
            );
        }
        if let Some(hp) = p.host_port.filter(|h| *h != 0) {
            push_invalid(
                errs,
                &idx.child("hostPort"),
                hp,
                names::port_num(i64::from(hp)),
            );
        }
        protocol(errs, p.protocol.as_ref(), &idx.child("protocol"));
    }
}

/// Port protocol: required, one of `SCTP`, `TCP`, `UDP`.
pub(super) fn protocol(errs: &mut ErrorList, proto: Option<&String>, path: &Path) {
    match proto.map(String::as_str) {
        None | Some("") => errs.push(FieldError::required(path, "")),
        Some("TCP" | "UDP" | "SCTP") => {}
        Some(other) => errs.push(FieldError::not_supported(
            path,
            other,
            &["SCTP", "TCP", "UDP"],
        )),
    }
}

fn validate_volume_mounts(
    errs: &mut ErrorList,
    mounts: &[VolumeMount],
    devices: &BTreeMap<String, String>,
    volumes: &BTreeMap<String, bool>,
    ctr: &Container,
    path: &Path,
) {
    let mut points = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let idx = path.index(i);
        if m.name.is_empty() {
            errs.push(FieldError::required(&idx.child("name"), ""));
        }
        if !volumes.contains_key(&m.name) {
            errs.push(FieldError::not_found(&idx.child("name"), &m.name));
        }
        if m.mount_path.is_empty() {
            errs.push(FieldError::required(&idx.child("mountPath"), ""));
        }
        if !points.insert(m.mount_path.clone()) {
            errs.push(FieldError::invalid(
                &idx.child("mountPath"),
                &m.mount_path,
                "must be unique",
            ));
        }
        if devices.contains_key(&m.name) {
            errs.push(FieldError::invalid(
                &idx.child("name"),
                &m.name,
                "must not already exist in volumeDevices",
            ));
        }
        if devices.values().any(|p| *p == m.mount_path) {
            errs.push(FieldError::invalid(
                &idx.child("mountPath"),
                &m.mount_path,
                "must not already exist as a path in volumeDevices",
            ));
        }
        let sub = s(m.sub_path.as_ref());
        if !sub.is_empty() {
            local_descending_path(errs, sub, &path.child("subPath"));
        }
        let expr = s(m.sub_path_expr.as_ref());
        if !expr.is_empty() {
            if !sub.is_empty() {
                errs.push(FieldError::invalid(
                    &idx.child("subPathExpr"),
                    expr,
                    "subPathExpr and subPath are mutually exclusive",
                ));
            }
            local_descending_path(errs, expr, &path.child("subPathExpr"));
        }
        if let Some(mp) = &m.mount_propagation {
            let mpp = path.child("mountPropagation");
            const SUPPORTED: [&str; 3] = ["Bidirectional", "HostToContainer", "None"];
            if !SUPPORTED.contains(&mp.as_str()) {
                errs.push(FieldError::not_supported(&mpp, mp, &SUPPORTED));
            }
            let privileged = ctr
                .security_context
                .as_ref()
                .and_then(|s| s.privileged)
                .unwrap_or(false);
            if mp == "Bidirectional" && !privileged {
                errs.push(FieldError::forbidden(
                    &mpp,
                    "Bidirectional mount propagation is available only to privileged containers",
                ));
            }
        }
        if let Some(rro) = &m.recursive_read_only {
            let p = path.child("recursiveReadOnly");
            match rro.as_str() {
                "Disabled" => {}
                "Enabled" | "IfPossible" => {
                    if !m.read_only.unwrap_or(false) {
                        errs.push(FieldError::forbidden(
                            &p,
                            "may only be specified when readOnly is true",
                        ));
                    }
                    if m.mount_propagation.as_deref().is_some_and(|x| x != "None") {
                        errs.push(FieldError::forbidden(
                            &p,
                            "may only be specified when mountPropagation is None or not specified",
                        ));
                    }
                }
                other => errs.push(FieldError::not_supported(
                    &p,
                    other,
                    &["Disabled", "Enabled", "IfPossible"],
                )),
            }
        }
    }
}

fn validate_volume_devices(
    errs: &mut ErrorList,
    ctr: &Container,
    mounts: &BTreeMap<String, String>,
    volumes: &BTreeMap<String, bool>,
    path: &Path,
) {
    let mut paths = BTreeSet::new();
    let mut names_seen = BTreeSet::new();
    for (i, d) in ctr.volume_devices.iter().flatten().enumerate() {
        let idx = path.index(i);
        let matched = volumes.get(&d.name);
        if d.name.is_empty() {
            errs.push(FieldError::required(&idx.child("name"), ""));
        }
        if names_seen.contains(&d.name) {
            errs.push(FieldError::invalid(
                &idx.child("name"),
                &d.name,
                "must be unique",
            ));
        }
        match matched {
            Some(false) => errs.push(FieldError::invalid(
                &idx.child("name"),
                &d.name,
                "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
            )),
            None => errs.push(FieldError::not_found(&idx.child("name"), &d.name)),
            Some(true) => {}
        }
        if d.device_path.is_empty() {
            errs.push(FieldError::required(&idx.child("devicePath"), ""));
        }
        if paths.contains(&d.device_path) {
            errs.push(FieldError::invalid(
                &idx.child("devicePath"),
                &d.device_path,
                "must be unique",
            ));
        }
        if !d.device_path.is_empty() && d.device_path.split('/').any(|x| x == "..") {
            errs.push(FieldError::invalid(
                &idx.child("devicePath"),
                &d.device_path,
                "can not contain backsteps ('..')",
            ));
        } else {
            paths.insert(d.device_path.clone());
        }
        if mounts.contains_key(&d.name) {
            errs.push(FieldError::invalid(
                &idx.child("name"),
                &d.name,
                "must not already exist in volumeMounts",
            ));
        }
        if mounts.values().any(|p| *p == d.device_path) {
            errs.push(FieldError::invalid(
                &idx.child("devicePath"),
                &d.device_path,
                "must not already exist as a path in volumeMounts",
            ));
        }
        if !d.name.is_empty() {
            names_seen.insert(d.name.clone());
        }
    }
}

const STANDARD_RESOURCES: [&str; 20] = [
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "storage",
    "requests.storage",
    "services.nodeports",
    "services.loadbalancers",
];

const INTEGER_RESOURCES: [&str; 9] = [
    "pods",
    "resourcequotas",
    "services",
    "replicationcontrollers",
    "secrets",
    "configmaps",
    "persistentvolumeclaims",
    "services.nodeports",
    "services.loadbalancers",
];

fn is_native(name: &str) -> bool {
    !name.contains('/') || name.contains("kubernetes.io/")
}

fn is_hugepages(name: &str) -> bool {
    name.starts_with("hugepages-")
}

fn is_extended(name: &str) -> bool {
    !is_native(name)
        && !name.starts_with("requests.")
        && names::qualified_name(&format!("requests.{name}")).is_empty()
}

fn overcommit_allowed(name: &str) -> bool {
    is_native(name) && !is_hugepages(name)
}

/// `validateContainerResourceName`.
fn container_resource_name(errs: &mut ErrorList, name: &str, path: &Path) {
    let q = names::qualified_name(name);
    if !q.is_empty() {
        push_invalid(errs, path, name, q);
    } else if !name.contains('/')
        && !STANDARD_RESOURCES.contains(&name)
        && !is_hugepages(name)
        && !name.starts_with("requests.hugepages-")
    {
        errs.push(FieldError::invalid(
            path,
            name,
            "must be a standard resource type or fully qualified",
        ));
    }
    if !name.contains('/') {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !is_hugepages(name) {
            errs.push(FieldError::invalid(
                path,
                name,
                "must be a standard resource for containers",
            ));
        }
    } else if !is_native(name) && !is_extended(name) {
        errs.push(FieldError::invalid(
            path,
            name,
            "doesn't follow extended resource name standard",
        ));
    }
}

/// `ValidateResourceQuantityValue`.
pub(super) fn resource_quantity(errs: &mut ErrorList, name: &str, raw: &str, path: &Path) {
    let Some(q) = Qty::parse(raw) else {
        return;
    };
    if q.nano < 0 {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            super::util::IS_NEGATIVE,
        ));
    }
    if (INTEGER_RESOURCES.contains(&name) || is_extended(name)) && q.nano % 1_000_000_000 != 0 {
        errs.push(FieldError::invalid(
            path,
            q.canonical(),
            "must be an integer",
        ));
    }
}

fn validate_resources(errs: &mut ErrorList, r: &ResourceRequirements, path: &Path) {
    let lim_path = path.child("limits");
    let req_path = path.child("requests");
    let limits = r.limits.clone().unwrap_or_default();
    let mut lim_cpu_mem = false;
    let mut req_cpu_mem = false;
    let mut huge = false;
    for (name, q) in &limits {
        let p = lim_path.key(name);
        container_resource_name(errs, name, &p);
        resource_quantity(errs, name, &q.0, &p);
        huge |= is_hugepages(name);
        lim_cpu_mem |= matches!(name.as_str(), "cpu" | "memory");
    }
    for (name, q) in r.requests.iter().flatten() {
        let p = req_path.key(name);
        container_resource_name(errs, name, &p);
        resource_quantity(errs, name, &q.0, &p);
        if let Some(lim) = limits.get(name) {
            if let (Some(rq), Some(lq)) = (Qty::parse(&q.0), Qty::parse(&lim.0)) {
                if rq.nano != lq.nano && !overcommit_allowed(name) {
                    errs.push(FieldError::invalid(
                        &req_path,
                        rq.canonical(),
                        format!("must be equal to {name} limit of {}", lq.canonical()),
                    ));
                } else if rq.nano > lq.nano {
                    errs.push(FieldError::invalid(
                        &req_path,
                        rq.canonical(),
                        format!(
                            "must be less than or equal to {name} limit of {}",
                            lq.canonical()
                        ),
                    ));
                }
            }
        } else if !overcommit_allowed(name) {
            errs.push(FieldError::required(
                &lim_path,
                "Limit must be set for non overcommitable resources",
            ));
        }
        huge |= is_hugepages(name);
        req_cpu_mem |= matches!(name.as_str(), "cpu" | "memory");
    }
    if !lim_cpu_mem && !req_cpu_mem && huge {
        errs.push(FieldError::forbidden(
            path,
            "HugePages require cpu or memory",
        ));
    }
}

fn validate_resize_policy(errs: &mut ErrorList, c: &Container, path: &Path, restart: &str) {
    let mut seen = BTreeSet::new();
    for (i, p) in c.resize_policy.iter().flatten().enumerate() {
        if !seen.insert(p.resource_name.clone()) {
            errs.push(FieldError::duplicate(&path.index(i), &p.resource_name));
        }
        match p.resource_name.as_str() {
            "cpu" | "memory" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(path, other, &["cpu", "memory"])),
        }
        match p.restart_policy.as_str() {
            "NotRequired" | "RestartContainer" => {}
            "" => errs.push(FieldError::required(path, "")),
            other => errs.push(FieldError::not_supported(
                path,
                other,
                &["NotRequired", "RestartContainer"],
            )),
        }
        if restart == "Never" && p.restart_policy != "NotRequired" {
            errs.push(FieldError::invalid(
                path,
                &p.restart_policy,
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Probes and handlers

fn port_num_or_name(errs: &mut ErrorList, port: &IntOrString, path: &Path) {
    match port {
        IntOrString::Int(i) => {
            push_invalid(errs, path, *i, names::port_num(i64::from(*i)));
        }
        IntOrString::String(s) => push_invalid(errs, path, s, names::port_name(s)),
    }
}

fn http_get(errs: &mut ErrorList, h: &HTTPGetAction, path: &Path) {
    if s(h.path.as_ref()).is_empty() {
        errs.push(FieldError::required(&path.child("path"), ""));
    }
    port_num_or_name(errs, &h.port, &path.child("port"));
    let scheme = s(h.scheme.as_ref());
    if scheme != "HTTP" && scheme != "HTTPS" {
        errs.push(FieldError::not_supported(
            &path.child("scheme"),
            scheme,
            &["HTTP", "HTTPS"],
        ));
    }
    for hd in h.http_headers.iter().flatten() {
        push_invalid(
            errs,
            &path.child("httpHeaders"),
            &hd.name,
            http_header_name(&hd.name),
        );
    }
}

/// The handler fields shared by probes and lifecycle hooks.
struct Handler<'a> {
    exec: Option<&'a k8s_openapi::api::core::v1::ExecAction>,
    http_get: Option<&'a HTTPGetAction>,
    tcp: Option<&'a k8s_openapi::api::core::v1::TCPSocketAction>,
    grpc: Option<&'a k8s_openapi::api::core::v1::GRPCAction>,
    sleep: Option<&'a k8s_openapi::api::core::v1::SleepAction>,
}

fn validate_handler(errs: &mut ErrorList, h: &Handler<'_>, grace: Option<i64>, path: &Path) {
    let mut n = 0;
    let mut more = |errs: &mut ErrorList, name: &str| -> bool {
        if n > 0 {
            errs.push(FieldError::forbidden(
                &path.child(name),
                "may not specify more than 1 handler type",
            ));
            false
        } else {
            n += 1;
            true
        }
    };
    if let Some(e) = h.exec
        && more(errs, "exec")
        && e.command.as_ref().is_none_or(Vec::is_empty)
    {
        errs.push(FieldError::required(
            &path.child("exec").child("command"),
            "",
        ));
    }
    if let Some(g) = h.http_get
        && more(errs, "httpGet")
    {
        http_get(errs, g, &path.child("httpGet"));
    }
    if let Some(t) = h.tcp
        && more(errs, "tcpSocket")
    {
        port_num_or_name(errs, &t.port, &path.child("tcpSocket").child("port"));
    }
    if let Some(g) = h.grpc
        && more(errs, "grpc")
    {
        port_num_or_name(
            errs,
            &IntOrString::Int(g.port),
            &path.child("grpc").child("port"),
        );
    }
    if let Some(sl) = h.sleep
        && more(errs, "sleep")
        && let Some(g) = grace
        && (sl.seconds < 0 || sl.seconds > g)
    {
        // PodLifecycleSleepActionAllowZero is beta (on) in 1.33.
        errs.push(FieldError::invalid(
            &path.child("sleep"),
            sl.seconds,
            format!("must be non-negative and less than terminationGracePeriodSeconds ({g})"),
        ));
    }
    if n == 0 {
        errs.push(FieldError::required(path, "must specify a handler type"));
    }
}

fn lifecycle_handler(h: &LifecycleHandler) -> Handler<'_> {
    Handler {
        exec: h.exec.as_ref(),
        http_get: h.http_get.as_ref(),
        tcp: h.tcp_socket.as_ref(),
        grpc: None,
        sleep: h.sleep.as_ref(),
    }
}

fn validate_lifecycle(errs: &mut ErrorList, l: &Lifecycle, grace: Option<i64>, path: &Path) {
    if let Some(h) = &l.post_start {
        validate_handler(errs, &lifecycle_handler(h), grace, &path.child("postStart"));
    }
    if let Some(h) = &l.pre_stop {
        validate_handler(errs, &lifecycle_handler(h), grace, &path.child("preStop"));
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

fn validate_probe(
    errs: &mut ErrorList,
    p: Option<&Probe>,
    kind: ProbeKind,
    grace: Option<i64>,
    path: &Path,
) {
    let Some(p) = p else {
        return;
    };
    let h = Handler {
        exec: p.exec.as_ref(),
        http_get: p.http_get.as_ref(),
        tcp: p.tcp_socket.as_ref(),
        grpc: p.grpc.as_ref(),
        sleep: None,
    };
    validate_handler(errs, &h, grace, path);
    let counts = [
        (p.initial_delay_seconds, "initialDelaySeconds"),
        (p.timeout_seconds, "timeoutSeconds"),
        (p.period_seconds, "periodSeconds"),
        (p.success_threshold, "successThreshold"),
        (p.failure_threshold, "failureThreshold"),
    ];
    for (v, name) in counts {
        nonnegative(errs, i64::from(v.unwrap_or(0)), &path.child(name));
    }
    if let Some(t) = p.termination_grace_period_seconds
        && t <= 0
    {
        errs.push(FieldError::invalid(
            &path.child("terminationGracePeriodSeconds"),
            t,
            "must be greater than 0",
        ));
    }
    match kind {
        ProbeKind::Liveness | ProbeKind::Startup => {
            let st = p.success_threshold.unwrap_or(0);
            if st != 1 {
                errs.push(FieldError::invalid(
                    &path.child("successThreshold"),
                    st,
                    "must be 1",
                ));
            }
        }
        ProbeKind::Readiness => {
            if let Some(t) = p.termination_grace_period_seconds {
                errs.push(FieldError::invalid(
                    &path.child("terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Security contexts

fn seccomp_profile(errs: &mut ErrorList, sp: Option<&SeccompProfile>, path: &Path) {
    let Some(sp) = sp else {
        return;
    };
    match sp.type_.as_str() {
        "Localhost" | "RuntimeDefault" | "Unconfined" => {}
        "" => errs.push(FieldError::required(
            &path.child("type"),
            "type is required when seccompProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            &path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
    if sp.type_ == "Localhost" {
        match &sp.localhost_profile {
            None => errs.push(FieldError::required(
                &path.child("localhostProfile"),
                "must be set when seccomp type is Localhost",
            )),
            Some(p) => local_descending_path(errs, p, &path.child("localhostProfile")),
        }
    } else if sp.localhost_profile.is_some() {
        errs.push(FieldError::invalid(
            &path.child("localhostProfile"),
            BadValue::Raw(format!(
                "core.SeccompProfile{{Type:{}, LocalhostProfile:(*string)(0xc000000000)}}",
                BadValue::quote(&sp.type_)
            )),
            "can only be set when seccomp type is Localhost",
        ));
    }
}

fn app_armor_profile(
    errs: &mut ErrorList,
    p: Option<&k8s_openapi::api::core::v1::AppArmorProfile>,
    path: &Path,
) {
    let Some(p) = p else {
        return;
    };
    match p.type_.as_str() {
        "Localhost" => match &p.localhost_profile {
            None => errs.push(FieldError::required(
                &path.child("localhostProfile"),
                "must be set when AppArmor type is Localhost",
            )),
            Some(lp) => {
                if lp.trim() != lp {
                    errs.push(FieldError::invalid(
                        &path.child("localhostProfile"),
                        lp,
                        "must not be padded with whitespace",
                    ));
                } else if lp.is_empty() {
                    errs.push(FieldError::required(
                        &path.child("localhostProfile"),
                        "must be set when AppArmor type is Localhost",
                    ));
                }
                if lp.len() > 4095 {
                    errs.push(FieldError::too_long(&path.child("localhostProfile"), 4095));
                }
            }
        },
        "RuntimeDefault" | "Unconfined" => {
            if let Some(lp) = &p.localhost_profile {
                errs.push(FieldError::invalid(
                    &path.child("localhostProfile"),
                    lp,
                    "can only be set when AppArmor type is Localhost",
                ));
            }
        }
        "" => errs.push(FieldError::required(
            &path.child("type"),
            "type is required when appArmorProfile is set",
        )),
        other => errs.push(FieldError::not_supported(
            &path.child("type"),
            other,
            &["Localhost", "RuntimeDefault", "Unconfined"],
        )),
    }
}

fn container_security_context(
    errs: &mut ErrorList,
    sc: Option<&SecurityContext>,
    host_users: bool,
    path: &Path,
) {
    let Some(sc) = sc else {
        return;
    };
    if let Some(u) = sc.run_as_user {
        push_invalid(errs, &path.child("runAsUser"), u, valid_id(u));
    }
    if let Some(g) = sc.run_as_group {
        push_invalid(errs, &path.child("runAsGroup"), g, valid_id(g));
    }
    if let Some(pm) = &sc.proc_mount {
        if pm != "Default" && pm != "Unmasked" {
            errs.push(FieldError::not_supported(
                &path.child("procMount"),
                pm,
                &["Default", "Unmasked"],
            ));
        }
        if host_users && pm == "Unmasked" {
            errs.push(FieldError::invalid(
                &path.child("procMount"),
                pm,
                "`hostUsers` must be false to use `Unmasked`",
            ));
        }
    }
    seccomp_profile(
        errs,
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    );
    if sc.allow_privilege_escalation == Some(false) {
        let repr = BadValue::Raw("&core.SecurityContext{...}".to_owned());
        if sc.privileged == Some(true) {
            errs.push(FieldError::invalid(
                path,
                repr.clone(),
                "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
            ));
        }
        let sys_admin = sc
            .capabilities
            .as_ref()
            .and_then(|c| c.add.as_ref())
            .is_some_and(|a| a.iter().any(|c| c == "CAP_SYS_ADMIN"));
        if sys_admin {
            errs.push(FieldError::invalid(
                path,
                repr,
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
            ));
        }
    }
    app_armor_profile(
        errs,
        sc.app_armor_profile.as_ref(),
        &path.child("appArmorProfile"),
    );
}

fn sysctl_name_ok(name: &str) -> bool {
    if name.len() > 253 {
        return false;
    }
    // ([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?
    name.split(['.', '/']).all(|seg| {
        let b = seg.as_bytes();
        !b.is_empty()
            && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
            && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
    })
}

fn pod_security_context(errs: &mut ErrorList, spec: &PodSpec, path: &Path) {
    let sc: &PodSecurityContext = match &spec.security_context {
        Some(sc) => sc,
        None => return,
    };
    if let Some(g) = sc.fs_group {
        push_invalid(errs, &path.child("fsGroup"), g, valid_id(g));
    }
    if let Some(u) = sc.run_as_user {
        push_invalid(errs, &path.child("runAsUser"), u, valid_id(u));
    }
    if let Some(g) = sc.run_as_group {
        push_invalid(errs, &path.child("runAsGroup"), g, valid_id(g));
    }
    for (i, g) in sc.supplemental_groups.iter().flatten().enumerate() {
        push_invalid(
            errs,
            &path.child("supplementalGroups").index(i),
            *g,
            valid_id(*g),
        );
    }
    if spec.share_process_namespace == Some(true) && spec.host_pid == Some(true) {
        errs.push(FieldError::invalid(
            &path.child("shareProcessNamespace"),
            true,
            "ShareProcessNamespace and HostPID cannot both be enabled",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, sy) in sc.sysctls.iter().flatten().enumerate() {
        let p = path.child("sysctls").index(i).child("name");
        if sy.name.is_empty() {
            errs.push(FieldError::required(&p, ""));
        } else if !sysctl_name_ok(&sy.name) {
            errs.push(FieldError::invalid(
                &p,
                &sy.name,
                "must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$",
            ));
        } else if seen.contains(&sy.name) {
            errs.push(FieldError::duplicate(&p, &sy.name));
        }
        let net = sy.name.starts_with("net.");
        let ipc = sy.name.starts_with("kernel.shm")
            || sy.name.starts_with("kernel.msg")
            || sy.name == "kernel.sem"
            || sy.name.starts_with("fs.mqueue.");
        if spec.host_network == Some(true) && net {
            errs.push(FieldError::invalid(
                &p,
                &sy.name,
                "may not be specified when 'hostNetwork' is true",
            ));
        } else if spec.host_ipc == Some(true) && ipc {
            errs.push(FieldError::invalid(
                &p,
                &sy.name,
                "may not be specified when 'hostIPC' is true",
            ));
        }
        seen.insert(sy.name.clone());
    }
    if let Some(p) = &sc.fs_group_change_policy
        && p != "Always"
        && p != "OnRootMismatch"
    {
        errs.push(FieldError::not_supported(
            &path.child("fsGroupChangePolicy"),
            p,
            &["Always", "OnRootMismatch"],
        ));
    }
    seccomp_profile(
        errs,
        sc.seccomp_profile.as_ref(),
        &path.child("seccompProfile"),
    );
    app_armor_profile(
        errs,
        sc.app_armor_profile.as_ref(),
        &path.child("appArmorProfile"),
    );
    if let Some(p) = &sc.supplemental_groups_policy
        && p != "Merge"
        && p != "Strict"
    {
        errs.push(FieldError::not_supported(
            &path.child("supplementalGroupsPolicy"),
            p,
            &["Merge", "Strict"],
        ));
    }
    if let Some(p) = &sc.se_linux_change_policy
        && p != "MountOption"
        && p != "Recursive"
    {
        errs.push(FieldError::not_supported(
            &path.child("seLinuxChangePolicy"),
            p,
            &["MountOption", "Recursive"],
        ));
    }
}

// ----------------------------------------------------------------------------------------------
// Containers

struct Ctx<'a> {
    volumes: &'a BTreeMap<String, bool>,
    grace: Option<i64>,
    restart: &'a str,
    host_users: bool,
}

fn validate_container_common(errs: &mut ErrorList, c: &Container, ctx: &Ctx<'_>, path: &Path) {
    let name_path = path.child("name");
    if c.name.is_empty() {
        errs.push(FieldError::required(&name_path, ""));
    } else {
        dns_label(errs, &c.name, &name_path);
    }
    if s(c.image.as_ref()).is_empty() {
        errs.push(FieldError::required(&path.child("image"), ""));
    }
    match s(c.termination_message_policy.as_ref()) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(FieldError::required(
            &path.child("terminationMessagePolicy"),
            "",
        )),
        other => errs.push(FieldError::not_supported(
            &path.child("terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    let mounts: BTreeMap<String, String> = c
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.clone(), m.mount_path.clone()))
        .collect();
    let devices: BTreeMap<String, String> = c
        .volume_devices
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), d.device_path.clone()))
        .collect();
    validate_container_ports(
        errs,
        c.ports.as_deref().unwrap_or_default(),
        &path.child("ports"),
    );
    validate_env(
        errs,
        c.env.as_deref().unwrap_or_default(),
        &path.child("env"),
    );
    validate_env_from(
        errs,
        c.env_from.as_deref().unwrap_or_default(),
        &path.child("envFrom"),
    );
    validate_volume_mounts(
        errs,
        c.volume_mounts.as_deref().unwrap_or_default(),
        &devices,
        ctx.volumes,
        c,
        &path.child("volumeMounts"),
    );
    validate_volume_devices(errs, c, &mounts, ctx.volumes, &path.child("volumeDevices"));
    match s(c.image_pull_policy.as_ref()) {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(FieldError::required(&path.child("imagePullPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &path.child("imagePullPolicy"),
            other,
            &["Always", "IfNotPresent", "Never"],
        )),
    }
    if let Some(r) = &c.resources {
        validate_resources(errs, r, &path.child("resources"));
    }
    validate_resize_policy(errs, c, &path.child("resizePolicy"), ctx.restart);
    container_security_context(
        errs,
        c.security_context.as_ref(),
        ctx.host_users,
        &path.child("securityContext"),
    );
}

/// `checkHostPortConflicts`: paths index `containers` itself, so an init container (checked
/// alone, as upstream does) reports at `initContainers[0]` whatever its index.
fn host_port_conflicts(errs: &mut ErrorList, containers: &[Container], path: &Path) {
    let mut seen = BTreeSet::new();
    for (ci, c) in containers.iter().enumerate() {
        for (pi, p) in c.ports.iter().flatten().enumerate() {
            let hp = p.host_port.unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{hp}", s(p.protocol.as_ref()), s(p.host_ip.as_ref()));
            if !seen.insert(key.clone()) {
                errs.push(FieldError::duplicate(
                    &path.index(ci).child("ports").index(pi).child("hostPort"),
                    key,
                ));
            }
        }
    }
}

/// The lifecycle and probe checks of regular and restartable init containers.
fn lifecycle_and_probes(errs: &mut ErrorList, c: &Container, grace: Option<i64>, path: &Path) {
    if let Some(l) = &c.lifecycle {
        validate_lifecycle(errs, l, grace, &path.child("lifecycle"));
    }
    let probes = [
        (&c.liveness_probe, ProbeKind::Liveness, "livenessProbe"),
        (&c.readiness_probe, ProbeKind::Readiness, "readinessProbe"),
        (&c.startup_probe, ProbeKind::Startup, "startupProbe"),
    ];
    for (probe, kind, name) in probes {
        validate_probe(errs, probe.as_ref(), kind, grace, &path.child(name));
    }
}

fn validate_containers(errs: &mut ErrorList, cs: &[Container], ctx: &Ctx<'_>, path: &Path) {
    if cs.is_empty() {
        errs.push(FieldError::required(path, ""));
        return;
    }
    let mut all = BTreeSet::new();
    for (i, c) in cs.iter().enumerate() {
        let p = path.index(i);
        validate_container_common(errs, c, ctx, &p);
        if !all.insert(c.name.clone()) {
            errs.push(FieldError::duplicate(&p.child("name"), &c.name));
        }
        lifecycle_and_probes(errs, c, ctx.grace, &p);
        if c.restart_policy.is_some() {
            errs.push(FieldError::forbidden(
                &p.child("restartPolicy"),
                "may not be set for non-init containers",
            ));
        }
    }
    host_port_conflicts(errs, cs, path);
}

fn validate_init_containers(
    errs: &mut ErrorList,
    cs: &[Container],
    regular: &[Container],
    ctx: &Ctx<'_>,
    path: &Path,
) {
    let mut all: BTreeSet<String> = regular.iter().map(|c| c.name.clone()).collect();
    for (i, c) in cs.iter().enumerate() {
        let p = path.index(i);
        validate_container_common(errs, c, ctx, &p);
        let mut restart_always = false;
        if let Some(rp) = &c.restart_policy {
            if rp != "Always" {
                errs.push(FieldError::not_supported(
                    &p.child("restartPolicy"),
                    rp,
                    &["Always"],
                ));
            }
            restart_always = rp == "Always";
        }
        if all.contains(&c.name) {
            errs.push(FieldError::duplicate(&p.child("name"), &c.name));
        } else if !c.name.is_empty() {
            all.insert(c.name.clone());
        }
        host_port_conflicts(errs, std::slice::from_ref(c), path);
        if restart_always {
            lifecycle_and_probes(errs, c, ctx.grace, &p);
        } else {
            const MSG: &str = "may not be set for init containers without restartPolicy=Always";
            if c.lifecycle.is_some() {
                errs.push(FieldError::forbidden(&p.child("lifecycle"), MSG));
            }
            if c.liveness_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("livenessProbe"), MSG));
            }
            if c.readiness_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("readinessProbe"), MSG));
            }
            if c.startup_probe.is_some() {
                errs.push(FieldError::forbidden(&p.child("startupProbe"), MSG));
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// PodSpec

fn validate_tolerations(
    errs: &mut ErrorList,
    tols: &[k8s_openapi::api::core::v1::Toleration],
    path: &Path,
) {
    for (i, t) in tols.iter().enumerate() {
        let idx = path.index(i);
        let key = s(t.key.as_ref());
        let op = s(t.operator.as_ref());
        let effect = s(t.effect.as_ref());
        let value = s(t.value.as_ref());
        if !key.is_empty() {
            qualified_name(errs, key, &idx.child("key"));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(FieldError::invalid(
                &idx.child("operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if t.toleration_seconds.is_some() && effect != "NoExecute" {
            errs.push(FieldError::invalid(
                &idx.child("effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let e = names::label_value(value);
                if !e.is_empty() {
                    errs.push(FieldError::invalid(
                        &idx.child("operator"),
                        value,
                        e.join(";"),
                    ));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(FieldError::invalid(
                        &idx.child("operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(FieldError::not_supported(
                &idx.child("operator"),
                other,
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            taint_effect(errs, effect, &idx.child("effect"));
        }
    }
}

/// `validateTaintEffect` (non-empty values).
pub(super) fn taint_effect(errs: &mut ErrorList, effect: &str, path: &Path) {
    if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
        errs.push(FieldError::not_supported(
            path,
            effect,
            &["NoSchedule", "PreferNoSchedule", "NoExecute"],
        ));
    }
}

fn validate_dns_config(errs: &mut ErrorList, spec: &PodSpec, path: &Path) {
    let policy = s(spec.dns_policy.as_ref());
    if policy == "None" {
        match &spec.dns_config {
            None => {
                errs.push(FieldError::required(
                    path,
                    "must provide `dnsConfig` when `dnsPolicy` is None",
                ));
                return;
            }
            Some(c) if c.nameservers.as_ref().is_none_or(Vec::is_empty) => {
                errs.push(FieldError::required(
                    &path.child("nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                ));
                return;
            }
            _ => {}
        }
    }
    let Some(c) = &spec.dns_config else {
        return;
    };
    let ns = c.nameservers.as_deref().unwrap_or_default();
    if ns.len() > 3 {
        errs.push(FieldError::invalid(
            &path.child("nameservers"),
            BadValue::Raw(super::util::go_string_slice(c.nameservers.as_ref())),
            "must not have more than 3 nameservers",
        ));
    }
    for (i, n) in ns.iter().enumerate() {
        legacy_ip(errs, &path.child("nameservers").index(i), n, &[]);
    }
    let searches = c.searches.as_deref().unwrap_or_default();
    if searches.len() > 32 {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            BadValue::Raw(super::util::go_string_slice(c.searches.as_ref())),
            "must not have more than 32 search paths",
        ));
    }
    if searches.join(" ").len() > 2048 {
        errs.push(FieldError::invalid(
            &path.child("searches"),
            BadValue::Raw(super::util::go_string_slice(c.searches.as_ref())),
            "must not have more than 2048 characters (including spaces) in the search list",
        ));
    }
    for (i, sr) in searches.iter().enumerate() {
        // RelaxedDNSSearchValidation is beta (on) in 1.33.
        if sr == "." {
            continue;
        }
        let sr = sr.strip_suffix('.').unwrap_or(sr);
        let mut msgs = Vec::new();
        if sr.len() > 253 {
            msgs.push(names::max_len_error(253));
        }
        if !subdomain_with_underscore(sr) {
            msgs.push(regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '_', '-' or '.', and must start and end with an alphanumeric character",
                "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
                &["example.com"],
            ));
        }
        push_invalid(errs, &path.child("searches").index(i), sr, msgs);
    }
    for (i, o) in c.options.iter().flatten().enumerate() {
        if s(o.name.as_ref()).is_empty() {
            errs.push(FieldError::required(
                &path.child("options").index(i),
                "must not be empty",
            ));
        }
    }
}

fn subdomain_with_underscore(v: &str) -> bool {
    // _?[a-z0-9]([-_a-z0-9]*[a-z0-9])? joined by dots
    !v.is_empty()
        && v.split('.').all(|l| {
            let l = l.strip_prefix('_').unwrap_or(l);
            let b = l.as_bytes();
            let an = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && an(b[0])
                && an(b[b.len() - 1])
                && b.iter().all(|c| an(*c) || *c == b'-' || *c == b'_')
        })
}

/// `ValidatePodSpec`.
pub(super) fn validate_pod_spec(errs: &mut ErrorList, spec: &PodSpec, path: &Path, opts: Opts) {
    let grace = spec.termination_grace_period_seconds;
    if grace.is_none() {
        errs.push(FieldError::required(
            &path.child("terminationGracePeriodSeconds"),
            "",
        ));
    }
    let host_users = spec.host_users.unwrap_or(true);
    let volumes = validate_volumes(
        errs,
        spec.volumes.as_deref().unwrap_or_default(),
        &path.child("volumes"),
    );
    let restart = s(spec.restart_policy.as_ref());
    let ctx = Ctx {
        volumes: &volumes,
        grace,
        restart,
        host_users,
    };
    validate_containers(errs, &spec.containers, &ctx, &path.child("containers"));
    validate_init_containers(
        errs,
        spec.init_containers.as_deref().unwrap_or_default(),
        &spec.containers,
        &ctx,
        &path.child("initContainers"),
    );
    // validatePodHostNetworkDeps
    if spec.host_network == Some(true) {
        for (i, c) in spec.containers.iter().enumerate() {
            for (j, p) in c.ports.iter().flatten().enumerate() {
                let hp = p.host_port.unwrap_or(0);
                if (opts.resource_is_pod || hp != 0) && hp != p.container_port {
                    errs.push(FieldError::invalid(
                        &path
                            .child("containers")
                            .index(i)
                            .child("ports")
                            .index(j)
                            .child("hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    match restart {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(FieldError::required(&path.child("restartPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &path.child("restartPolicy"),
            other,
            &["Always", "OnFailure", "Never"],
        )),
    }
    match s(spec.dns_policy.as_ref()) {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(FieldError::required(&path.child("dnsPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            &path.child("dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    validate_labels(
        errs,
        spec.node_selector.as_ref(),
        &path.child("nodeSelector"),
    );
    pod_security_context(errs, spec, &path.child("securityContext"));
    validate_dns_config(errs, spec, &path.child("dnsConfig"));
    for (i, g) in spec.readiness_gates.iter().flatten().enumerate() {
        qualified_name(
            errs,
            &g.condition_type,
            &path.child("readinessGates").index(i).child("conditionType"),
        );
    }
    let mut gates = BTreeSet::new();
    for (i, g) in spec.scheduling_gates.iter().flatten().enumerate() {
        let p = path.child("schedulingGates").index(i);
        qualified_name(errs, &g.name, &p);
        if !gates.insert(g.name.clone()) {
            errs.push(FieldError::duplicate(&p, &g.name));
        }
    }
    if !host_users {
        if spec.host_network == Some(true) {
            errs.push(FieldError::forbidden(
                &path.child("hostNetwork"),
                "when `pod.Spec.HostUsers` is false",
            ));
        }
        if spec.host_pid == Some(true) {
            errs.push(FieldError::forbidden(
                &path.child("HostPID"),
                "when `pod.Spec.HostUsers` is false",
            ));
        }
        if spec.host_ipc == Some(true) {
            errs.push(FieldError::forbidden(
                &path.child("HostIPC"),
                "when `pod.Spec.HostUsers` is false",
            ));
        }
    }
    let sa = s(spec.service_account_name.as_ref());
    if !sa.is_empty() {
        dns_subdomain(errs, sa, &path.child("serviceAccountName"));
    }
    let node = s(spec.node_name.as_ref());
    if !node.is_empty() {
        dns_subdomain(errs, node, &path.child("nodeName"));
    }
    if let Some(ads) = spec.active_deadline_seconds
        && !(1..=i64::from(i32::MAX)).contains(&ads)
    {
        errs.push(FieldError::invalid(
            &path.child("activeDeadlineSeconds"),
            ads,
            inclusive_range_error(1, i64::from(i32::MAX)),
        ));
    }
    let hostname = s(spec.hostname.as_ref());
    if !hostname.is_empty() {
        dns_label(errs, hostname, &path.child("hostname"));
    }
    let sub = s(spec.subdomain.as_ref());
    if !sub.is_empty() {
        dns_label(errs, sub, &path.child("subdomain"));
    }
    validate_tolerations(
        errs,
        spec.tolerations.as_deref().unwrap_or_default(),
        &path.child("tolerations"),
    );
    for (i, ha) in spec.host_aliases.iter().flatten().enumerate() {
        let p = path.child("hostAliases").index(i);
        legacy_ip(errs, &p.child("ip"), &ha.ip, &[]);
        for (j, h) in ha.hostnames.iter().flatten().enumerate() {
            dns_subdomain(errs, h, &p.child("hostnames").index(j));
        }
    }
    let pc = s(spec.priority_class_name.as_ref());
    if !pc.is_empty() {
        dns_subdomain(errs, pc, &path.child("priorityClassName"));
    }
    if let Some(rc) = &spec.runtime_class_name {
        dns_subdomain(errs, rc, &path.child("runtimeClassName"));
    }
    if let Some(pp) = &spec.preemption_policy {
        match pp.as_str() {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(FieldError::required(&path.child("preemptionPolicy"), "")),
            other => errs.push(FieldError::not_supported(
                &path.child("preemptionPolicy"),
                other,
                &["PreemptLowerPriority", "Never"],
            )),
        }
    }
    if let Some(o) = &spec.overhead {
        validate_resources(
            errs,
            &ResourceRequirements {
                limits: Some(o.clone()),
                ..Default::default()
            },
            &path.child("overhead"),
        );
    }
    if let Some(os) = &spec.os {
        if os.name.is_empty() {
            errs.push(FieldError::required(
                &path.child("os").child("name"),
                "cannot be empty",
            ));
        } else if os.name != "linux" && os.name != "windows" {
            errs.push(FieldError::not_supported(
                &path.child("os"),
                &os.name,
                &["linux", "windows"],
            ));
        }
    }
}

/// `ValidatePodSpecificAnnotations` (mirror pod, deletion cost, AppArmor annotations).
fn pod_specific_annotations(
    errs: &mut ErrorList,
    annotations: Option<&BTreeMap<String, String>>,
    spec: &PodSpec,
    path: &Path,
) {
    let Some(a) = annotations else {
        return;
    };
    if let Some(v) = a.get(MIRROR)
        && s(spec.node_name.as_ref()).is_empty()
    {
        errs.push(FieldError::invalid(
            &path.key(MIRROR),
            v,
            "must set spec.nodeName if mirror pod annotation is set",
        ));
    }
    const COST: &str = "controller.kubernetes.io/pod-deletion-cost";
    if let Some(v) = a.get(COST)
        && v.parse::<i32>().is_err()
    {
        errs.push(FieldError::invalid(
            &path.key(COST),
            v,
            "must be a 32bit integer",
        ));
    }
    for (k, v) in a {
        let Some(name) = k.strip_prefix(APPARMOR) else {
            continue;
        };
        let found = spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
            .any(|c| c.name == name)
            || spec
                .ephemeral_containers
                .iter()
                .flatten()
                .any(|c| c.name == name);
        if !found {
            errs.push(FieldError::invalid(
                &path.key(k),
                name,
                "container not found",
            ));
        }
        if !(v.is_empty()
            || v == "runtime/default"
            || v == "unconfined"
            || v.starts_with("localhost/"))
        {
            errs.push(FieldError::invalid(
                &path.key(k),
                v,
                format!("invalid AppArmor profile name: {}", BadValue::quote(v)),
            ));
        }
    }
}

/// `ValidatePodTemplateSpec` at `path` (`spec.template`).
pub(super) fn validate_pod_template(errs: &mut ErrorList, t: &PodTemplateSpec, path: &Path) {
    let meta = t.metadata.clone().unwrap_or_default();
    let spec = t.spec.clone().unwrap_or_default();
    validate_labels(errs, meta.labels.as_ref(), &path.child("labels"));
    validate_annotations(errs, meta.annotations.as_ref(), &path.child("annotations"));
    pod_specific_annotations(
        errs,
        meta.annotations.as_ref(),
        &spec,
        &path.child("annotations"),
    );
    validate_pod_spec(errs, &spec, &path.child("spec"), Opts::default());
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            &path.child("spec").child("ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
}

/// `validatePodMetadataAndSpec` minus the generic ObjectMeta checks.
fn pod_metadata_and_spec(errs: &mut ErrorList, meta: &ObjectMeta, spec: &PodSpec) {
    let spec_path = Path::new("spec");
    pod_specific_annotations(
        errs,
        meta.annotations.as_ref(),
        spec,
        &Path::new("metadata").child("annotations"),
    );
    validate_pod_spec(
        errs,
        spec,
        &spec_path,
        Opts {
            resource_is_pod: true,
        },
    );
    if s(spec.service_account_name.as_ref()).is_empty() {
        for (vi, v) in spec.volumes.iter().flatten().enumerate() {
            for (si, src) in v
                .projected
                .iter()
                .flat_map(|p| p.sources.iter().flatten())
                .enumerate()
            {
                if src.service_account_token.is_some() {
                    errs.push(FieldError::forbidden(
                        &spec_path
                            .child("volumes")
                            .index(vi)
                            .child("projected")
                            .child("sources")
                            .index(si)
                            .child("serviceAccountToken"),
                        "must not be specified when serviceAccountName is not set",
                    ));
                }
            }
        }
    }
    for (field, cs) in [
        ("containers", &spec.containers),
        (
            "initContainers",
            spec.init_containers.as_ref().unwrap_or(&Vec::new()),
        ),
    ] {
        for (i, c) in cs.iter().enumerate() {
            let img = s(c.image.as_ref());
            if img.len() != img.trim().len() {
                errs.push(FieldError::invalid(
                    &spec_path.child(field).index(i).child("image"),
                    img,
                    "must not have leading or trailing whitespace",
                ));
            }
        }
    }
}

/// `ValidatePodCreate`.
pub(super) fn validate_pod_create(pod: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let spec = pod.spec.clone().unwrap_or_default();
    pod_metadata_and_spec(&mut errs, &pod.metadata, &spec);
    let spec_path = Path::new("spec");
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|e| !e.is_empty())
    {
        errs.push(FieldError::forbidden(
            &spec_path.child("ephemeralContainers"),
            "cannot be set on create",
        ));
    }
    if !s(spec.node_name.as_ref()).is_empty()
        && spec
            .scheduling_gates
            .as_ref()
            .is_some_and(|g| !g.is_empty())
    {
        errs.push(FieldError::forbidden(
            &spec_path.child("nodeName"),
            "cannot be set until all schedulingGates have been cleared",
        ));
    }
    errs
}

const UPDATABLE_POD_SPEC_FIELDS: [&str; 5] = [
    "`spec.containers[*].image`",
    "`spec.initContainers[*].image`",
    "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

fn container_updates(
    errs: &mut ErrorList,
    new: &[Container],
    old: &[Container],
    path: &Path,
) -> bool {
    if new.len() != old.len() {
        errs.push(FieldError::forbidden(
            path,
            "pod updates may not add or remove containers",
        ));
        return true;
    }
    for (i, c) in new.iter().enumerate() {
        let img = s(c.image.as_ref());
        if img.is_empty() {
            errs.push(FieldError::required(&path.index(i).child("image"), ""));
        }
        if img.trim().len() != img.len() {
            errs.push(FieldError::invalid(
                &path.index(i).child("image"),
                img,
                "must not have leading or trailing whitespace",
            ));
        }
    }
    false
}

/// `ValidatePodUpdate` (ObjectMeta update rules are checked elsewhere).
pub(super) fn validate_pod_update(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let nspec = new.spec.clone().unwrap_or_default();
    let ospec = old.spec.clone().unwrap_or_default();
    pod_metadata_and_spec(&mut errs, &new.metadata, &nspec);
    // ValidatePodSpecificAnnotationUpdates
    let ann_path = Path::new("metadata").child("annotations");
    let na = new.metadata.annotations.clone().unwrap_or_default();
    let oa = old.metadata.annotations.clone().unwrap_or_default();
    for (k, ov) in &oa {
        if na.get(k) == Some(ov) {
            continue;
        }
        if k.starts_with(APPARMOR) {
            errs.push(FieldError::forbidden(
                &ann_path.key(k),
                "may not remove or update AppArmor annotations",
            ));
        }
        if k == MIRROR {
            errs.push(FieldError::forbidden(
                &ann_path.key(k),
                "may not remove or update mirror pod annotation",
            ));
        }
    }
    for k in na.keys() {
        if oa.contains_key(k) {
            continue;
        }
        if k.starts_with(APPARMOR) {
            errs.push(FieldError::forbidden(
                &ann_path.key(k),
                "may not add AppArmor annotations",
            ));
        }
        if k == MIRROR {
            errs.push(FieldError::forbidden(
                &ann_path.key(k),
                "may not add mirror pod annotation",
            ));
        }
    }

    let spec_path = Path::new("spec");
    if container_updates(
        &mut errs,
        &nspec.containers,
        &ospec.containers,
        &spec_path.child("containers"),
    ) {
        return errs;
    }
    let nic = nspec.init_containers.clone().unwrap_or_default();
    let oic = ospec.init_containers.clone().unwrap_or_default();
    if container_updates(&mut errs, &nic, &oic, &spec_path.child("initContainers")) {
        return errs;
    }
    let ads_path = spec_path.child("activeDeadlineSeconds");
    match (nspec.active_deadline_seconds, ospec.active_deadline_seconds) {
        (Some(n), old_ads) => {
            if !(0..=i64::from(i32::MAX)).contains(&n) {
                errs.push(FieldError::invalid(
                    &ads_path,
                    n,
                    inclusive_range_error(0, i64::from(i32::MAX)),
                ));
                return errs;
            }
            if let Some(o) = old_ads
                && o < n
            {
                errs.push(FieldError::invalid(
                    &ads_path,
                    n,
                    "must be less than or equal to previous value",
                ));
                return errs;
            }
        }
        (None, Some(_)) => errs.push(FieldError::invalid(
            &ads_path,
            "null",
            "must not update from a positive integer to nil value",
        )),
        (None, None) => {}
    }
    // validateOnlyAddedTolerations
    let ntol = nspec.tolerations.clone().unwrap_or_default();
    let otol = ospec.tolerations.clone().unwrap_or_default();
    let tol_path = spec_path.child("tolerations");
    let mut tol_ok = true;
    for o in &otol {
        let found = ntol.iter().any(|n| {
            let mut oc = o.clone();
            oc.toleration_seconds = n.toleration_seconds;
            sem_eq(&oc, n)
        });
        if !found {
            errs.push(FieldError::forbidden(
                &tol_path,
                "existing toleration can not be modified except its tolerationSeconds",
            ));
            tol_ok = false;
            break;
        }
    }
    if tol_ok {
        validate_tolerations(&mut errs, &ntol, &tol_path);
    }
    // validateOnlyDeletedSchedulingGates
    let old_gates: BTreeSet<String> = ospec
        .scheduling_gates
        .iter()
        .flatten()
        .map(|g| g.name.clone())
        .collect();
    for (i, g) in nspec.scheduling_gates.iter().flatten().enumerate() {
        if !old_gates.contains(&g.name) {
            errs.push(FieldError::forbidden(
                &spec_path.child("schedulingGates").index(i).child("name"),
                format!(
                    "only deletion is allowed, but found new scheduling gate '{}'",
                    g.name
                ),
            ));
        }
    }
    if sem_eq(&nspec, &ospec) {
        return errs;
    }
    let mut munged = nspec.clone();
    for (c, o) in munged.containers.iter_mut().zip(&ospec.containers) {
        c.image.clone_from(&o.image);
    }
    for (c, o) in munged
        .init_containers
        .iter_mut()
        .flatten()
        .zip(ospec.init_containers.iter().flatten())
    {
        c.image.clone_from(&o.image);
    }
    munged.active_deadline_seconds = ospec.active_deadline_seconds;
    munged.scheduling_gates.clone_from(&ospec.scheduling_gates);
    munged.tolerations.clone_from(&ospec.tolerations);
    if ospec
        .termination_grace_period_seconds
        .is_some_and(|g| g < 0)
        && munged.termination_grace_period_seconds == Some(1)
    {
        munged.termination_grace_period_seconds = ospec.termination_grace_period_seconds;
    }
    if !sem_eq(&munged, &ospec) {
        let diff = match (serde_json::to_value(&ospec), serde_json::to_value(&munged)) {
            (Ok(o), Ok(n)) => simple_diff("core.PodSpec", &o, &n),
            _ => String::new(),
        };
        errs.push(FieldError::forbidden(
            &spec_path,
            format!(
                "pod updates may not change fields other than {}\n{diff}",
                UPDATABLE_POD_SPEC_FIELDS.join(",")
            ),
        ));
    }
    errs
}

/// The parts of `ValidatePodStatusUpdate` that look at values tether's components write.
pub(super) fn validate_pod_status_update(new: &Pod, old: &Pod) -> ErrorList {
    let mut errs = ErrorList::new();
    let st = Path::new("status");
    let nn = new.spec.as_ref().and_then(|s| s.node_name.clone());
    let on = old.spec.as_ref().and_then(|s| s.node_name.clone());
    if nn.unwrap_or_default() != on.unwrap_or_default() {
        errs.push(FieldError::forbidden(
            &st.child("nodeName"),
            "may not be changed directly",
        ));
    }
    let ns = new.status.clone().unwrap_or_default();
    let os = old.status.clone().unwrap_or_default();
    let nom = s(ns.nominated_node_name.as_ref());
    if nom != s(os.nominated_node_name.as_ref()) && !nom.is_empty() {
        dns_subdomain(&mut errs, nom, &st.child("nominatedNodeName"));
    }
    let nq = s(ns.qos_class.as_ref());
    if nq != s(os.qos_class.as_ref()) {
        errs.push(FieldError::invalid(
            &st.child("qosClass"),
            nq,
            super::util::IMMUTABLE,
        ));
    }
    for (i, c) in ns.conditions.iter().flatten().enumerate() {
        if !matches!(c.type_.as_str(), "PodScheduled" | "Ready" | "Initialized") {
            qualified_name(
                &mut errs,
                &c.type_,
                &Path::new("metadata")
                    .child("conditions")
                    .index(i)
                    .child("Type"),
            );
        }
    }
    let old_ips: Vec<String> = os.pod_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    for (i, ip) in ns.pod_ips.iter().flatten().enumerate() {
        legacy_ip(&mut errs, &st.child("podIPs").index(i), &ip.ip, &old_ips);
    }
    let old_hips: Vec<String> = os.host_ips.iter().flatten().map(|p| p.ip.clone()).collect();
    let hips = ns.host_ips.as_deref().unwrap_or_default();
    if let Some(first) = hips.first()
        && s(ns.host_ip.as_ref()) != first.ip
    {
        errs.push(FieldError::invalid(
            &st.child("hostIPs").index(0).child("ip"),
            &first.ip,
            "must be equal to `hostIP`",
        ));
    }
    for (i, ip) in hips.iter().enumerate() {
        legacy_ip(&mut errs, &st.child("hostIPs").index(i), &ip.ip, &old_hips);
    }
    errs
}
