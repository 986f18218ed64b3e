//! Objects ⇄ store with upstream's write semantics (kube-apiserver's generic registry
//! `apiserver/pkg/registry/generic/registry/store.go` and the per-kind strategies).
//!
//! Write path, in upstream's order: system fields → allocation (Services) → strategy prepare →
//! validation (422) → dry-run short-circuit → one store transaction that compares the
//! object's revision and every reservation it takes or frees. A rejected request writes
//! nothing; a conflicting one is retried (PATCH, unconditional PUT) or answered 409.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use tether_api::resources::{self, Resource};
use tether_api::{ApiError, ErrorList, FieldError, Path, meta, names, patch, service, workloads};
use tether_store::{Backend, Compare, KeyValue, ListOptions, Op, Revision, Txn, TxnResult};

use crate::alloc::{Allocators, Reservation, Reserved};
use crate::error::store_error;

/// Upstream's message for a continue token whose revision was compacted
/// (`storage.NewResourceExpired` in the etcd3 store's list).
const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a \
consistent list result. You can start a new list without the continue parameter, or use the \
continue token in this response to retrieve the remainder of the results. Continuing with the \
provided token results in an inconsistent list - objects that were created, modified, or \
deleted between the time the first chunk was returned and now may show up in the list.";

/// How many times a write retries after losing a compare-and-swap race.
const MAX_ATTEMPTS: usize = 16;

/// What clients may ask of a write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: run everything, persist nothing.
    pub dry_run: bool,
    /// `fieldManager`.
    pub field_manager: Option<String>,
    /// The manager of a write without `fieldManager`: the User-Agent up to its first `/`
    /// (upstream's `prefixFromUserAgent`).
    pub user_agent_manager: String,
    /// A server-side apply: field ownership was settled by the apply step, so the write is
    /// not also recorded as an `Update`.
    pub apply: bool,
    /// A write through the `/scale` subresource (recorded with `subresource: scale`).
    pub scale: bool,
}

impl WriteOptions {
    /// The manager this write's fields are recorded under.
    pub fn manager(&self) -> &str {
        match self.field_manager.as_deref() {
            Some(m) if !m.is_empty() => m,
            _ => &self.user_agent_manager,
        }
    }
}

/// `DeleteOptions` that matter here.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `propagationPolicy`: Background, Foreground, Orphan.
    pub propagation: Option<String>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_rv: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// A page of objects.
#[derive(Debug, Clone)]
pub struct Page {
    /// The objects, with resourceVersion set.
    pub items: Vec<Value>,
    /// The store revision the list was served at.
    pub revision: Revision,
    /// The last key returned, when more remain.
    pub next: Option<String>,
}

/// Configuration of the registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Service CIDRs, primary first (one per family).
    pub service_cidrs: Vec<ipnet::IpNet>,
    /// NodePort range, `30000-32767`.
    pub node_port_range: String,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            service_cidrs: vec![ipnet::IpNet::V4(
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
            )],
            node_port_range: "30000-32767".to_owned(),
        }
    }
}

/// The typed-object layer over the store.
#[derive(Debug)]
pub struct Registry {
    store: Arc<dyn Backend>,
    alloc: Allocators,
    ip_config: service::ClusterIpConfig,
}

/// The store key of an object: `/registry/<group|core>/<plural>[/<namespace>]/<name>`.
pub(crate) fn key(r: &Resource, ns: &str, name: &str) -> String {
    let g = if r.group.is_empty() { "core" } else { r.group };
    if r.namespaced {
        format!("/registry/{g}/{}/{ns}/{name}", r.plural)
    } else {
        format!("/registry/{g}/{}/{name}", r.plural)
    }
}

/// The key prefix of a collection (all namespaces when `ns` is `None`).
pub(crate) fn prefix(r: &Resource, ns: Option<&str>) -> String {
    let g = if r.group.is_empty() { "core" } else { r.group };
    match ns {
        Some(ns) if r.namespaced => format!("/registry/{g}/{}/{ns}/", r.plural),
        _ => format!("/registry/{g}/{}/", r.plural),
    }
}

/// Decodes a stored object and stamps its resourceVersion.
pub(crate) fn decode(kv: &KeyValue) -> Result<Value, ApiError> {
    let mut v: Value = serde_json::from_slice(&kv.value)
        .map_err(|e| ApiError::internal(format!("stored object {}: {e}", kv.key)))?;
    set_rv(&mut v, kv.mod_revision);
    Ok(v)
}

/// Sets `metadata.resourceVersion`.
pub(crate) fn set_rv(v: &mut Value, rev: Revision) {
    if let Some(m) = meta::meta_mut(v) {
        m.insert("resourceVersion".into(), json!(rev.to_string()));
    }
}

fn encode(v: &Value) -> Result<Bytes, ApiError> {
    let mut v = v.clone();
    if let Some(m) = meta::meta_mut(&mut v) {
        m.remove("resourceVersion");
        m.remove("selfLink");
    }
    serde_json::to_vec(&v)
        .map(Bytes::from)
        .map_err(ApiError::internal)
}

fn strip_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = meta::meta_mut(&mut v) {
        m.remove("resourceVersion");
    }
    v
}

fn bad_object(r: &Resource, e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!(
        "{} in version {:?} cannot be handled as a {}: {e}",
        r.kind, r.version, r.kind
    ))
}

fn invalid_or(r: &Resource, name: &str, errs: ErrorList) -> Result<(), ApiError> {
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(r, name, &errs))
    }
}

/// Kinds upstream lets a PUT create (`AllowCreateOnUpdate`).
fn allow_create_on_update(r: &Resource) -> bool {
    matches!(
        r.kind,
        "Service" | "Endpoints" | "Event" | "Lease" | "EndpointSlice" | "Node"
    )
}

fn finalizers(v: &Value) -> Vec<String> {
    v.get("metadata")
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn being_deleted(v: &Value) -> bool {
    meta::meta_str(v, "deletionTimestamp").is_some()
}

impl Registry {
    /// A registry over `store`, loading the allocators' view of what is taken.
    pub async fn new(store: Arc<dyn Backend>, cfg: &RegistryConfig) -> Result<Self, ApiError> {
        let alloc = Allocators::new(&cfg.service_cidrs, &cfg.node_port_range)
            .map_err(|e| ApiError::internal(format!("allocator configuration: {e}")))?;
        let families = cfg
            .service_cidrs
            .iter()
            .map(|n| {
                if n.addr().is_ipv4() {
                    service::IpFamily::V4
                } else {
                    service::IpFamily::V6
                }
            })
            .collect();
        let reg = Self {
            store,
            alloc,
            ip_config: service::ClusterIpConfig { families },
        };
        reg.load_reservations().await?;
        Ok(reg)
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Backend> {
        &self.store
    }

    /// The allocators.
    pub(crate) fn allocators(&self) -> &Allocators {
        &self.alloc
    }

    async fn load_reservations(&self) -> Result<(), ApiError> {
        for p in [crate::alloc::IP_PREFIX, crate::alloc::PORT_PREFIX] {
            let page = self
                .store
                .list(p, ListOptions::default())
                .await
                .map_err(store_error)?;
            for kv in page.kvs {
                if let Some(r) = Reservation::from_key(&kv.key) {
                    self.alloc.mark(&r);
                }
            }
        }
        Ok(())
    }

    /// Reads one object.
    pub async fn get(&self, r: &Resource, ns: &str, name: &str) -> Result<Value, ApiError> {
        let kv = self
            .store
            .get(&key(r, ns, name))
            .await
            .map_err(store_error)?
            .ok_or_else(|| ApiError::not_found(r, name))?;
        decode(&kv)
    }

    async fn get_kv(
        &self,
        r: &Resource,
        ns: &str,
        name: &str,
    ) -> Result<Option<KeyValue>, ApiError> {
        self.store.get(&key(r, ns, name)).await.map_err(store_error)
    }

    /// Lists objects passing `filter`, at most `limit` (0 = all), starting after key `start`,
    /// as they were at revision `at` (a continue token's; `None`: the latest). Every chunk
    /// read for one call reads at the first chunk's revision, so a page is one snapshot and
    /// the pages of one list are the same snapshot, as upstream's etcd3 store serves them.
    /// A compacted `at` is upstream's 410 `Expired` for a too-old continue token.
    pub async fn list(
        &self,
        r: &Resource,
        ns: Option<&str>,
        start: Option<String>,
        at: Option<Revision>,
        limit: usize,
        filter: &(dyn Fn(&Value) -> bool + Sync),
    ) -> Result<Page, ApiError> {
        let prefix = prefix(r, ns);
        let mut items = Vec::new();
        let mut start_after = start;
        let mut revision = at.unwrap_or(0);
        loop {
            // Read in chunks so a selective filter over a large collection stays bounded.
            let want = if limit == 0 {
                0
            } else {
                (limit - items.len()).max(64)
            };
            let page = self
                .store
                .list(
                    &prefix,
                    ListOptions {
                        start_after: start_after.clone(),
                        limit: want,
                        revision: (revision != 0).then_some(revision),
                    },
                )
                .await
                .map_err(|e| match e {
                    tether_store::Error::Compacted { .. } if at.is_some() => {
                        ApiError::expired(CONTINUE_EXPIRED)
                    }
                    other => store_error(other),
                })?;
            if revision == 0 {
                revision = page.revision;
            }
            let n = page.kvs.len();
            for (i, kv) in page.kvs.iter().enumerate() {
                let v = decode(kv)?;
                if filter(&v) {
                    items.push(v);
                    if limit > 0 && items.len() == limit {
                        let more = page.more || i + 1 < n;
                        return Ok(Page {
                            items,
                            revision,
                            next: more.then(|| kv.key.clone()),
                        });
                    }
                }
            }
            if !page.more {
                break;
            }
            start_after = page.kvs.last().map(|kv| kv.key.clone());
        }
        Ok(Page {
            items,
            revision,
            next: None,
        })
    }

    /// The current store revision.
    pub async fn revision(&self) -> Result<Revision, ApiError> {
        self.store.current_revision().await.map_err(store_error)
    }

    async fn check_namespace(&self, r: &Resource, ns: &str, name: &str) -> Result<(), ApiError> {
        if !r.namespaced {
            return Ok(());
        }
        let nsr = resources::namespaces();
        match self.get_kv(nsr, "", ns).await? {
            None => Err(ApiError::not_found(nsr, ns)),
            Some(kv) => {
                let v = decode(&kv)?;
                let terminating = being_deleted(&v)
                    || v.pointer("/status/phase").and_then(Value::as_str) == Some("Terminating");
                if terminating && r.kind != "Event" {
                    Err(ApiError::forbidden(
                        r,
                        name,
                        &format!(
                            "unable to create new content in namespace {ns} because it is being terminated"
                        ),
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Creates an object (POST).
    pub async fn create(
        &self,
        r: &Resource,
        ns: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Value, ApiError> {
        check_type(r, &mut obj)?;
        let body_ns = meta::namespace(&obj).to_owned();
        if r.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        } else if !body_ns.is_empty() {
            // Upstream clears a namespace on cluster-scoped objects silently.
        }
        {
            let Some(m) = meta::meta_mut(&mut obj) else {
                return Err(bad_object(r, "not an object"));
            };
            if r.namespaced {
                m.insert("namespace".into(), json!(ns));
            } else {
                m.remove("namespace");
            }
            // FillObjectMetaSystemFields: uid and creationTimestamp are the server's.
            m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
            m.insert("creationTimestamp".into(), json!(meta::now_rfc3339()));
            for f in [
                "resourceVersion",
                "selfLink",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                m.remove(f);
            }
            if r.generation {
                m.insert("generation".into(), json!(1));
            }
        }
        set_defaults(r, &mut obj)?;
        // Field ownership as upstream's handler records it: after defaulting, before the
        // registry allocates (a Service's clusterIP is nobody's).
        let obj = if opts.apply {
            obj
        } else {
            patch::managed::update_ownership(
                &Value::Null,
                obj,
                opts.manager(),
                &meta::now_rfc3339(),
                None,
            )
        };
        let generate = meta::meta_str(&obj, "generateName")
            .unwrap_or("")
            .to_owned();
        let fixed_name = meta::name(&obj).to_owned();
        self.check_namespace(r, ns, &fixed_name).await?;
        let mut last_err = None;
        for _ in 0..MAX_ATTEMPTS {
            let mut cand = obj.clone();
            if fixed_name.is_empty()
                && !generate.is_empty()
                && let Some(m) = meta::meta_mut(&mut cand)
            {
                m.insert("name".into(), json!(names::generate_name(&generate)));
            }
            let name = meta::name(&cand).to_owned();
            let reserved = if r.kind == "Service" {
                self.service_create(r, &mut cand)?
            } else {
                workloads::prepare_for_create(r.kind, &mut cand).map_err(|e| bad_object(r, e))?;
                Reserved::default()
            };
            meta::normalize(&mut cand);
            let mut errs = meta::validate(r, &cand);
            if errs.is_empty() {
                errs.extend(validate_kind(r, &cand)?);
            }
            if !errs.is_empty() {
                self.alloc.release_all(&reserved.taken);
                return Err(ApiError::invalid(r, &name, &errs));
            }
            if opts.dry_run {
                self.alloc.release_all(&reserved.taken);
                return Ok(cand);
            }
            let k = key(r, ns, &name);
            let mut txn = Txn::new().when(Compare::Absent(k.clone()));
            for res in &reserved.taken {
                txn = txn.when(Compare::Absent(res.key()));
            }
            txn = txn.then(Op::Put(k, encode(&cand)?));
            let owner = Bytes::from(json!({"namespace": ns, "name": name}).to_string());
            for res in &reserved.taken {
                txn = txn.then(Op::Put(res.key(), owner.clone()));
            }
            match self.store.txn(txn).await.map_err(store_error) {
                Ok(TxnResult::Committed(rev)) => {
                    set_rv(&mut cand, rev);
                    return Ok(cand);
                }
                Ok(TxnResult::Failed(0)) => {
                    self.alloc.release_all(&reserved.taken);
                    if fixed_name.is_empty() && !generate.is_empty() {
                        continue;
                    }
                    return Err(ApiError::already_exists(r, &name));
                }
                Ok(TxnResult::Failed(i)) => {
                    // Another server took a value we reserved locally: keep it marked (it is
                    // taken), free the rest, and either retry or report the static clash.
                    let lost = &reserved.taken[i - 1];
                    let others: Vec<Reservation> = reserved
                        .taken
                        .iter()
                        .filter(|x| *x != lost)
                        .cloned()
                        .collect();
                    self.alloc.release_all(&others);
                    if reserved.requested.contains(lost) {
                        return Err(crate::alloc::already_allocated(r, &name, &cand, lost));
                    }
                    last_err = Some(ApiError::internal("allocation raced with another server"));
                }
                Err(e) => {
                    self.alloc.release_all(&reserved.taken);
                    return Err(e);
                }
            }
        }
        Err(last_err.unwrap_or_else(|| ApiError::internal("too many conflicts")))
    }

    /// Allocation and strategy for a new Service; returns what it reserved.
    fn service_create(&self, r: &Resource, cand: &mut Value) -> Result<Reserved, ApiError> {
        let name = meta::name(cand).to_owned();
        let mut svc: k8s_openapi::api::core::v1::Service =
            serde_json::from_value(cand.clone()).map_err(|e| bad_object(r, e))?;
        // Order as `service::prepare_for_create` documents: prepare, families, allocation.
        service::prepare_for_create(&mut svc);
        invalid_or(
            r,
            &name,
            service::init_ip_families(&mut svc, None, &self.ip_config),
        )?;
        let reserved = self.alloc.allocate_service(r, &name, &mut svc, None)?;
        *cand = serde_json::to_value(&svc).map_err(ApiError::internal)?;
        Ok(reserved)
    }

    /// Replaces an object (PUT), or its `status`.
    pub async fn update(
        &self,
        r: &Resource,
        ns: &str,
        name: &str,
        sub: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<(Value, bool), ApiError> {
        check_type(r, &mut obj)?;
        let body_name = meta::name(&obj).to_owned();
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let body_ns = meta::namespace(&obj).to_owned();
        if r.namespaced && !body_ns.is_empty() && body_ns != ns {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        if let Some(m) = meta::meta_mut(&mut obj) {
            m.insert("name".into(), json!(name));
            if r.namespaced {
                m.insert("namespace".into(), json!(ns));
            }
        }
        let precondition = meta::meta_str(&obj, "resourceVersion")
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<Revision>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {s:?}")))
            })
            .transpose()?;
        let update = |_cur: &Value| Ok(obj.clone());
        self.guaranteed_update(r, ns, name, sub, precondition, opts, true, &update)
            .await
    }

    /// Read-modify-write with retries: `f` computes the desired object from the current one.
    /// `create_if_missing` lets Services/Endpoints/... be created by PUT.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn guaranteed_update(
        &self,
        r: &Resource,
        ns: &str,
        name: &str,
        sub: Option<&str>,
        precondition: Option<Revision>,
        opts: &WriteOptions,
        create_if_missing: bool,
        f: &(dyn Fn(&Value) -> Result<Value, ApiError> + Sync),
    ) -> Result<(Value, bool), ApiError> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(kv) = self.get_kv(r, ns, name).await? else {
                if create_if_missing && sub.is_none() && allow_create_on_update(r) {
                    let obj = f(&Value::Null)?;
                    return Ok((self.create(r, ns, obj, opts).await?, true));
                }
                return Err(ApiError::not_found(r, name));
            };
            if let Some(p) = precondition
                && p != kv.mod_revision
            {
                return Err(ApiError::conflict(r, name));
            }
            let old = decode(&kv)?;
            let desired = f(&old)?;
            let (new, reserved) = self.prepare_update(r, sub, desired, &old)?;
            if strip_rv(&new) == strip_rv(&old) {
                self.alloc.release_all(&reserved.taken);
                return Ok((old, false));
            }
            // Writes to the object and through `/status` and `/scale` are recorded (with
            // their subresource); `/binding` and namespace `finalize` are not.
            let recorded = match sub {
                None if opts.scale => Some(Some("scale")),
                None => Some(None),
                Some("status") => Some(Some("status")),
                Some(_) => None,
            };
            let new = match recorded {
                Some(subresource) if !opts.apply => patch::managed::update_ownership(
                    &old,
                    new,
                    opts.manager(),
                    &meta::now_rfc3339(),
                    subresource,
                ),
                _ => new,
            };
            if opts.dry_run {
                self.alloc.release_all(&reserved.taken);
                return Ok((new, false));
            }
            let k = key(r, ns, name);
            let mut txn = Txn::new().when(Compare::ModRevision(k.clone(), kv.mod_revision));
            for res in &reserved.taken {
                txn = txn.when(Compare::Absent(res.key()));
            }
            // The last finalizer removed from an object being deleted: delete it now.
            let finished = being_deleted(&new)
                && finalizers(&new).is_empty()
                && !pod_pending_grace(r, &new)
                && !namespace_pending(r, &new);
            if finished {
                txn = txn.then(Op::Delete(k));
                for res in crate::alloc::reservations_of(r, &old) {
                    txn = txn.then(Op::Delete(res.key()));
                }
            } else {
                txn = txn.then(Op::Put(k, encode(&new)?));
                let owner = Bytes::from(json!({"namespace": ns, "name": name}).to_string());
                for res in &reserved.taken {
                    txn = txn.then(Op::Put(res.key(), owner.clone()));
                }
                for res in &reserved.freed {
                    txn = txn.then(Op::Delete(res.key()));
                }
            }
            match self.store.txn(txn).await.map_err(store_error)? {
                TxnResult::Committed(rev) => {
                    if finished {
                        self.alloc
                            .release_all(&crate::alloc::reservations_of(r, &old));
                    } else {
                        self.alloc.release_all(&reserved.freed);
                    }
                    let mut out = new;
                    set_rv(&mut out, rev);
                    return Ok((out, false));
                }
                TxnResult::Failed(0) => {
                    self.alloc.release_all(&reserved.taken);
                    if precondition.is_some() {
                        return Err(ApiError::conflict(r, name));
                    }
                }
                TxnResult::Failed(i) => {
                    let lost = reserved.taken[i - 1].clone();
                    let others: Vec<Reservation> = reserved
                        .taken
                        .iter()
                        .filter(|x| **x != lost)
                        .cloned()
                        .collect();
                    self.alloc.release_all(&others);
                    if reserved.requested.contains(&lost) {
                        return Err(crate::alloc::already_allocated(r, name, &new, &lost));
                    }
                }
            }
        }
        Err(ApiError::conflict(r, name))
    }

    /// Computes the object to store for an update of `old` to `new` (strategy + validation).
    fn prepare_update(
        &self,
        r: &Resource,
        sub: Option<&str>,
        mut new: Value,
        old: &Value,
    ) -> Result<(Value, Reserved), ApiError> {
        let name = meta::name(old).to_owned();
        // System fields always come from the stored object.
        {
            let Some(m) = meta::meta_mut(&mut new) else {
                return Err(bad_object(r, "not an object"));
            };
            for f in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old.get("metadata").and_then(|om| om.get(f)) {
                    Some(v) => {
                        m.insert(f.into(), v.clone());
                    }
                    None => {
                        m.remove(f);
                    }
                }
            }
            m.remove("selfLink");
            // A request without managedFields keeps the stored ones (upstream's field
            // manager resets them to the live object's when the request has none); a
            // subresource write never changes them (`ignoreManagedFieldsFromRequestObject`).
            if sub.is_some() || m.get("managedFields").is_none_or(Value::is_null) {
                match old.pointer("/metadata/managedFields") {
                    Some(mf) => {
                        m.insert("managedFields".into(), mf.clone());
                    }
                    None => {
                        m.remove("managedFields");
                    }
                }
            }
        }
        if sub == Some("binding") {
            // BindingREST writes through the storage layer: no strategy, no validation; the
            // handler derived `new` from the stored object (see `http::assign_pod`).
            return Ok((new, Reserved::default()));
        }
        if sub == Some("finalize") {
            // Namespace `finalize`: only spec.finalizers changes.
            let fins = new
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            let mut out = old.clone();
            out["spec"]["finalizers"] = fins;
            return Ok((out, Reserved::default()));
        }
        if sub == Some("status") {
            // Every status strategy here starts with `new.Spec = old.Spec`. None of them calls
            // `ResetObjectMetaForStatus` (opt-in, newer kinds only): user metadata may change
            // through /status, except what the kind's strategy resets (Pod: ownerReferences,
            // Deployment: labels; `workloads::prepare_for_update` below).
            for (k, v) in old.as_object().into_iter().flatten() {
                if k != "status" && k != "metadata" {
                    new[k] = v.clone();
                }
            }
        } else if r.status_subresource {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(o) = new.as_object_mut() {
                        o.remove("status");
                    }
                }
            }
        }
        // No new finalizers once deletion started.
        if being_deleted(old) {
            let before: BTreeSet<String> = finalizers(old).into_iter().collect();
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                let list: Vec<String> = added.iter().map(|f| format!("{f:?}")).collect();
                return Err(ApiError::invalid(
                    r,
                    &name,
                    &[FieldError::forbidden(
                        &Path::new("metadata").child("finalizers"),
                        format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                            list.join(", ")
                        ),
                    )],
                ));
            }
        }
        set_defaults(r, &mut new)?;
        let mut reserved = Reserved::default();
        if r.kind == "Service" {
            let mut svc: k8s_openapi::api::core::v1::Service =
                serde_json::from_value(new).map_err(|e| bad_object(r, e))?;
            let old_svc: k8s_openapi::api::core::v1::Service =
                serde_json::from_value(old.clone()).map_err(ApiError::internal)?;
            if sub == Some("status") {
                invalid_or(r, &name, service::validate_status_update(&svc, &old_svc))?;
            } else {
                service::prepare_for_update(&mut svc, &old_svc);
                invalid_or(
                    r,
                    &name,
                    service::init_ip_families(&mut svc, Some(&old_svc), &self.ip_config),
                )?;
                reserved = self
                    .alloc
                    .allocate_service(r, &name, &mut svc, Some(&old_svc))?;
            }
            new = serde_json::to_value(&svc).map_err(ApiError::internal)?;
        } else {
            workloads::prepare_for_update(r.kind, &mut new, old, sub)
                .map_err(|e| bad_object(r, e))?;
        }
        meta::normalize(&mut new);
        let mut errs = meta::validate(r, &new);
        errs.extend(meta::validate_update(&new, old));
        if errs.is_empty() {
            if r.kind == "Service" {
                if sub != Some("status") {
                    let svc: k8s_openapi::api::core::v1::Service =
                        serde_json::from_value(new.clone()).map_err(ApiError::internal)?;
                    let old_svc: k8s_openapi::api::core::v1::Service =
                        serde_json::from_value(old.clone()).map_err(ApiError::internal)?;
                    errs.extend(service::validate_update(&svc, &old_svc));
                }
            } else {
                let kind_errs = if sub == Some("status") {
                    workloads::validate_status_update(r.kind, &new, old)
                } else {
                    workloads::validate_update(r.kind, &new, old)
                };
                errs.extend(kind_errs.map_err(|e| bad_object(r, e))?);
            }
        }
        if !errs.is_empty() {
            self.alloc.release_all(&reserved.taken);
            return Err(ApiError::invalid(r, &name, &errs));
        }
        Ok((new, reserved))
    }

    /// Deletes an object, honouring finalizers, propagation and pod grace periods.
    pub async fn delete(
        &self,
        r: &Resource,
        ns: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        for _ in 0..MAX_ATTEMPTS {
            let kv = self
                .get_kv(r, ns, name)
                .await?
                .ok_or_else(|| ApiError::not_found(r, name))?;
            let old = decode(&kv)?;
            if let Some(uid) = &opts.precondition_uid {
                let actual = meta::meta_str(&old, "uid").unwrap_or("");
                if uid != actual {
                    return Err(ApiError::conflict_msg(
                        r,
                        name,
                        &format!(
                            "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                        ),
                    ));
                }
            }
            if let Some(rv) = &opts.precondition_rv
                && *rv != kv.mod_revision.to_string()
            {
                return Err(ApiError::conflict_msg(
                    r,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                        kv.mod_revision
                    ),
                ));
            }
            let mut new = old.clone();
            let now = meta::now_rfc3339();
            let mut graceful = false;
            if r.kind == "Namespace" {
                let spec_fins = new
                    .pointer("/spec/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty());
                if spec_fins || !finalizers(&new).is_empty() {
                    graceful = true;
                    if let Some(m) = meta::meta_mut(&mut new) {
                        m.entry("deletionTimestamp").or_insert(json!(now));
                        m.entry("deletionGracePeriodSeconds").or_insert(json!(0));
                    }
                    new["status"]["phase"] = json!("Terminating");
                }
            } else {
                if r.kind == "Pod"
                    && let Some(grace) = pod_grace(&old, opts.grace_period)
                {
                    graceful = true;
                    let current = old
                        .pointer("/metadata/deletionGracePeriodSeconds")
                        .and_then(Value::as_i64);
                    if current.is_none_or(|c| grace < c) {
                        let at = jiff::Timestamp::now()
                            .checked_add(jiff::SignedDuration::from_secs(grace))
                            .unwrap_or_else(|_| jiff::Timestamp::now());
                        if let Some(m) = meta::meta_mut(&mut new) {
                            m.insert("deletionTimestamp".into(), json!(meta::format_time(at)));
                            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
                        }
                    }
                }
                let extra = match opts.propagation.as_deref() {
                    Some("Orphan") => Some("orphan"),
                    Some("Foreground") => Some("foregroundDeletion"),
                    _ => None,
                };
                let mut fins = finalizers(&new);
                if let Some(f) = extra
                    && !being_deleted(&old)
                    && !fins.iter().any(|x| x == f)
                {
                    fins.push(f.to_owned());
                    if let Some(m) = meta::meta_mut(&mut new) {
                        m.insert("finalizers".into(), json!(fins));
                    }
                }
                if !fins.is_empty() {
                    graceful = true;
                    if let Some(m) = meta::meta_mut(&mut new) {
                        m.entry("deletionTimestamp").or_insert(json!(now));
                        m.entry("deletionGracePeriodSeconds").or_insert(json!(0));
                    }
                }
            }
            let k = key(r, ns, name);
            if graceful {
                if strip_rv(&new) == strip_rv(&old) {
                    return Ok(old);
                }
                if opts.dry_run {
                    return Ok(new);
                }
                let txn = Txn::new()
                    .when(Compare::ModRevision(k.clone(), kv.mod_revision))
                    .then(Op::Put(k, encode(&new)?));
                match self.store.txn(txn).await.map_err(store_error)? {
                    TxnResult::Committed(rev) => {
                        set_rv(&mut new, rev);
                        return Ok(new);
                    }
                    TxnResult::Failed(_) => continue,
                }
            }
            if opts.dry_run {
                return Ok(old);
            }
            let freed = crate::alloc::reservations_of(r, &old);
            let mut txn = Txn::new()
                .when(Compare::ModRevision(k.clone(), kv.mod_revision))
                .then(Op::Delete(k));
            for res in &freed {
                txn = txn.then(Op::Delete(res.key()));
            }
            match self.store.txn(txn).await.map_err(store_error)? {
                TxnResult::Committed(rev) => {
                    self.alloc.release_all(&freed);
                    let mut out = old;
                    set_rv(&mut out, rev);
                    return Ok(out);
                }
                TxnResult::Failed(_) => {}
            }
        }
        Err(ApiError::conflict(r, name))
    }
}

/// The grace period a pod deletion waits for, or `None` to delete at once (unscheduled or
/// finished pods, or an explicit 0).
fn pod_grace(pod: &Value, requested: Option<i64>) -> Option<i64> {
    let scheduled = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if !scheduled || matches!(phase, Some("Succeeded" | "Failed")) {
        return None;
    }
    let grace = requested.unwrap_or_else(|| {
        pod.pointer("/spec/terminationGracePeriodSeconds")
            .and_then(Value::as_i64)
            .unwrap_or(30)
    });
    (grace > 0).then_some(grace)
}

/// A pod whose graceful deletion is under way stays until its kubelet deletes it.
fn pod_pending_grace(r: &Resource, v: &Value) -> bool {
    r.kind == "Pod"
        && v.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|g| g > 0)
}

/// A namespace stays while its `spec.finalizers` are not empty.
fn namespace_pending(r: &Resource, v: &Value) -> bool {
    r.kind == "Namespace"
        && v.pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
}

/// Checks `apiVersion`/`kind` of a body against the URL's resource, filling them when absent.
fn check_type(r: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    let Some(o) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "{} in version {:?} cannot be handled as a {}: the body is not a JSON object",
            r.kind, r.version, r.kind
        )));
    };
    let api_version = r.api_version();
    let kind = o
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let av = o
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !kind.is_empty() && kind != r.kind {
        return Err(ApiError::bad_request(format!(
            "{kind} in version {av:?} cannot be handled as a {}: no kind {kind:?} is registered for version {av:?} in scheme",
            r.kind
        )));
    }
    if !av.is_empty() && av != api_version {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({api_version})"
        )));
    }
    o.insert("apiVersion".into(), json!(api_version));
    o.insert("kind".into(), json!(r.kind));
    Ok(())
}

fn set_defaults(r: &Resource, obj: &mut Value) -> Result<(), ApiError> {
    if r.kind == "Service" {
        let mut svc: k8s_openapi::api::core::v1::Service =
            serde_json::from_value(obj.clone()).map_err(|e| bad_object(r, e))?;
        service::set_defaults(&mut svc);
        *obj = serde_json::to_value(&svc).map_err(ApiError::internal)?;
        Ok(())
    } else {
        workloads::set_defaults(r.kind, obj).map_err(|e| bad_object(r, e))
    }
}

fn validate_kind(r: &Resource, obj: &Value) -> Result<ErrorList, ApiError> {
    if r.kind == "Service" {
        let svc: k8s_openapi::api::core::v1::Service =
            serde_json::from_value(obj.clone()).map_err(|e| bad_object(r, e))?;
        Ok(service::validate(&svc))
    } else {
        workloads::validate(r.kind, obj).map_err(|e| bad_object(r, e))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A registry on a fresh embedded store with the `default` namespace.
    pub(crate) async fn registry() -> (Registry, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = tether_store::Embedded::open(
            dir.path().join("store.redb"),
            tether_store::EmbeddedOptions::default(),
        )
        .unwrap();
        let reg = Registry::new(Arc::new(store), &RegistryConfig::default())
            .await
            .unwrap();
        let ns = resources::find("", "v1", "namespaces").unwrap();
        let body = json!({"metadata": {"name": "default"}});
        reg.create(ns, "", body, &WriteOptions::default())
            .await
            .unwrap();
        (reg, dir)
    }

    /// Writes `obj`'s status through `/status` with new labels and annotations, and returns
    /// the stored object.
    async fn status_write_with_metadata(reg: &Registry, plural: &str, obj: Value) -> Value {
        let r = resources::RESOURCES
            .iter()
            .find(|r| r.plural == plural)
            .unwrap();
        let created = reg
            .create(r, "default", obj, &WriteOptions::default())
            .await
            .unwrap();
        let name = meta::name(&created).to_owned();
        let mut edit = created.clone();
        edit["metadata"]["labels"] = json!({"changed": "by-status"});
        edit["metadata"]["annotations"] = json!({"patchedstatus": "true"});
        edit["spec"] = Value::Null;
        let (out, _) = reg
            .update(
                r,
                "default",
                &name,
                Some("status"),
                edit,
                &WriteOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            out["spec"], created["spec"],
            "{plural}/status never writes spec"
        );
        out
    }

    pub(crate) fn pod(name: &str) -> Value {
        json!({
            "metadata": {"name": name, "labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "agnhost"}]},
        })
    }

    /// Upstream's status strategies for these kinds reset spec (and Deployment labels) but not
    /// the rest of the metadata: e2e "should complete a service status lifecycle" and the
    /// apps "Status endpoints" tests patch annotations through /status and read them back.
    #[tokio::test]
    async fn status_writes_keep_metadata_per_kind() {
        let (reg, _dir) = registry().await;
        let svc = json!({
            "metadata": {"name": "s", "labels": {"app": "a"}},
            "spec": {"ports": [{"port": 80}], "selector": {"app": "a"}},
        });
        let out = status_write_with_metadata(&reg, "services", svc).await;
        assert_eq!(out["metadata"]["annotations"]["patchedstatus"], "true");
        assert_eq!(out["metadata"]["labels"], json!({"changed": "by-status"}));

        let out = status_write_with_metadata(&reg, "pods", pod("p")).await;
        assert_eq!(out["metadata"]["annotations"]["patchedstatus"], "true");
        assert_eq!(out["metadata"]["labels"], json!({"changed": "by-status"}));

        let template = json!({
            "metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "agnhost"}]},
        });
        let spec = json!({"selector": {"matchLabels": {"app": "a"}}, "template": template});
        let deploy = json!({"metadata": {"name": "d", "labels": {"app": "a"}}, "spec": spec});
        let out = status_write_with_metadata(&reg, "deployments", deploy).await;
        assert_eq!(out["metadata"]["annotations"]["patchedstatus"], "true");
        assert_eq!(
            out["metadata"]["labels"],
            json!({"app": "a"}),
            "deploymentStatusStrategy resets labels"
        );

        let rs = json!({"metadata": {"name": "rs", "labels": {"app": "a"}}, "spec": spec});
        let out = status_write_with_metadata(&reg, "replicasets", rs).await;
        assert_eq!(out["metadata"]["annotations"]["patchedstatus"], "true");
        assert_eq!(out["metadata"]["labels"], json!({"changed": "by-status"}));
    }
}
