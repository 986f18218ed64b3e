//! Server-side apply's field ownership (`metadata.managedFields`), as structured-merge-diff
//! keeps it: the fields an applied configuration sets are its manager's; applying a value
//! different from the live one to a field another manager owns is a conflict (409) unless
//! forced, which takes the field over; a field a manager applied before and no longer
//! applies is removed from the object unless another manager owns it.
//!
//! Field sets use the `FieldsV1` format: `f:<field>` for struct fields and map keys,
//! `k:<json of the key fields>` for items of associative lists (`x-kubernetes-list-type:
//! map`), `v:<json>` for items of sets, `.` marking a list item itself; other lists are
//! atomic (owned as a whole). Which lists are associative, and by which keys, follows the
//! kinds' patch schema (`schema.rs`, the same one strategic merge patch uses) walked with the
//! object: upstream's `x-kubernetes-list-map-keys` are the `patchMergeKey`s except where
//! [`list_kind`] says; key fields missing from an item take their schema default
//! (`protocol: TCP`).
//!
//! Other writes (create, replace, patch) are `Update` operations ([`update_ownership`]): the
//! fields they change become their manager's and leave every other manager's set, without
//! conflicts; so a field last written by `kubectl edit` conflicts with a later apply that
//! changes it, as upstream. Writes through `/scale` are recorded as `Update`s with
//! `subresource: scale`, writes through `/status` with `subresource: status` (owning status
//! and metadata fields, as upstream's status strategies reset `spec`).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::schema::{self, FieldMeta, Strategy, Ty};

/// One path element, rendered as in `FieldsV1` (`f:spec`, `k:{"port":80,"protocol":"TCP"}`).
type Elem = String;

/// A set of field paths (a tree).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// The node itself is owned (a leaf, or `.` of a list item).
    owned: bool,
    children: BTreeMap<Elem, Self>,
}

/// Key fields of an associative list item, each with its schema default.
type Keys = &'static [(&'static str, Option<&'static str>)];

/// How a list is owned (`x-kubernetes-list-type`).
#[derive(Clone, Copy, Debug)]
enum ListKind {
    /// Owned as a whole (the default for lists).
    Atomic,
    /// `set`: item by item (`v:<json>`).
    Set,
    /// `map`: item by item, by these key fields (`k:<json>`).
    Map(Keys),
}

/// The list kind of field `field` of `ty`, whose patch tags are `meta`. Upstream declares
/// `x-kubernetes-list-map-keys` beside every `patchMergeKey` of the kinds served here, and
/// they are the merge key except where a second key was added (ports by protocol, topology
/// spread constraints by `whenUnsatisfiable`); merge lists of scalars are sets.
fn list_kind(ty: Ty, field: &str, meta: FieldMeta) -> ListKind {
    const PORT: Keys = &[("port", None), ("protocol", Some("TCP"))];
    const CPORT: Keys = &[("containerPort", None), ("protocol", Some("TCP"))];
    const TOPOLOGY: Keys = &[("topologyKey", None), ("whenUnsatisfiable", None)];
    const NAME: Keys = &[("name", None)];
    const UID: Keys = &[("uid", None)];
    const TYPE: Keys = &[("type", None)];
    const IP: Keys = &[("ip", None)];
    const MOUNT: Keys = &[("mountPath", None)];
    const DEVICE: Keys = &[("devicePath", None)];
    const CLAIM: Keys = &[("resourceClaimName", None)];
    if meta.strategy != Strategy::Merge {
        return ListKind::Atomic;
    }
    match (ty, field) {
        (Ty::ServiceSpec, "ports") => return ListKind::Map(PORT),
        (Ty::Container, "ports") => return ListKind::Map(CPORT),
        (Ty::PodSpec, "topologySpreadConstraints") => return ListKind::Map(TOPOLOGY),
        _ => {}
    }
    match meta.merge_key {
        "" => ListKind::Set,
        "name" => ListKind::Map(NAME),
        "uid" => ListKind::Map(UID),
        "type" => ListKind::Map(TYPE),
        "ip" => ListKind::Map(IP),
        "mountPath" => ListKind::Map(MOUNT),
        "devicePath" => ListKind::Map(DEVICE),
        "resourceClaimName" => ListKind::Map(CLAIM),
        _ => ListKind::Atomic,
    }
}

/// Where a value sits: its type (for a list, its items' type) and, for a list, its kind.
#[derive(Clone, Copy, Debug)]
struct Place {
    ty: Ty,
    list: ListKind,
}

impl Place {
    /// The root of an object of `obj`'s kind.
    fn root(obj: &Value) -> Self {
        Self {
            ty: schema::root(obj["kind"].as_str().unwrap_or_default()),
            list: ListKind::Atomic,
        }
    }

    /// Field `name` of this (struct) place.
    fn field(self, name: &str) -> Self {
        let (meta, ty) = schema::lookup(self.ty, name);
        Self {
            ty,
            list: list_kind(self.ty, name, meta),
        }
    }
}

/// Fields no manager owns.
fn ignored(path: &[&str], key: &str) -> bool {
    match path {
        [] => matches!(key, "apiVersion" | "kind"),
        ["metadata"] => matches!(
            key,
            "name"
                | "namespace"
                | "uid"
                | "resourceVersion"
                | "generation"
                | "creationTimestamp"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
                | "managedFields"
                | "selfLink"
        ),
        _ => false,
    }
}

/// The `k:` element of an associative list item, or `None` when a key field is missing.
fn item_key(item: &Value, keys: Keys) -> Option<Elem> {
    let mut m = Map::new();
    for (k, default) in keys {
        let v = match (item.get(*k), default) {
            (Some(v), _) if !v.is_null() => v.clone(),
            (_, Some(d)) => json!(d),
            _ => return None,
        };
        m.insert((*k).to_owned(), v);
    }
    Some(format!("k:{}", Value::Object(m)))
}

impl FieldSet {
    /// Only the top-level fields a write through `subresource` may own ([`in_scope`]).
    fn scoped(mut self, subresource: &str) -> Self {
        self.children
            .retain(|k, _| in_scope(subresource, k.strip_prefix("f:").unwrap_or(k)));
        self
    }

    /// The fields `obj` sets.
    pub fn of(obj: &Value) -> Self {
        let mut s = Self::default();
        s.fill(obj, &mut Vec::new(), Place::root(obj));
        s.owned = false;
        s
    }

    fn fill<'a>(&mut self, v: &'a Value, path: &mut Vec<&'a str>, at: Place) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, child) in m {
                    if ignored(path, k) || child.is_null() {
                        continue;
                    }
                    path.push(k);
                    let mut node = Self::default();
                    node.fill(child, path, at.field(k));
                    path.pop();
                    // A struct with only ignored fields (`metadata: {name: x}`) owns nothing.
                    if !node.is_empty() {
                        self.children.insert(format!("f:{k}"), node);
                    }
                }
            }
            Value::Array(items) if !items.is_empty() => match at.list {
                ListKind::Map(keys) => {
                    let item_at = Place {
                        ty: at.ty,
                        list: ListKind::Atomic,
                    };
                    for item in items {
                        let Some(k) = item_key(item, keys) else {
                            // An item without its key cannot be tracked: own the list.
                            self.owned = true;
                            self.children.clear();
                            return;
                        };
                        let node = self.children.entry(k).or_default();
                        node.fill(item, path, item_at);
                        node.owned = true;
                    }
                }
                ListKind::Set => {
                    for item in items {
                        self.children.entry(format!("v:{item}")).or_default().owned = true;
                    }
                }
                ListKind::Atomic => self.owned = true,
            },
            _ => self.owned = true,
        }
    }

    /// Whether no path is in the set.
    pub fn is_empty(&self) -> bool {
        !self.owned && self.children.values().all(Self::is_empty)
    }

    /// Every owned path.
    pub fn paths(&self) -> Vec<Vec<Elem>> {
        let mut out = Vec::new();
        self.walk(&mut Vec::new(), &mut out);
        out
    }

    fn walk(&self, prefix: &mut Vec<Elem>, out: &mut Vec<Vec<Elem>>) {
        if self.owned && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.walk(prefix, out);
            prefix.pop();
        }
    }

    /// Whether `path` is owned.
    pub fn contains(&self, path: &[Elem]) -> bool {
        let mut n = self;
        for e in path {
            match n.children.get(e) {
                Some(c) => n = c,
                None => return false,
            }
        }
        n.owned
    }

    /// Removes `path` (and the branch above it that becomes empty).
    pub fn remove(&mut self, path: &[Elem]) {
        let Some((first, rest)) = path.split_first() else {
            self.owned = false;
            return;
        };
        if let Some(c) = self.children.get_mut(first) {
            c.remove(rest);
            if c.is_empty() {
                self.children.remove(first);
            }
        }
    }

    /// The `FieldsV1` JSON.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.owned && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_fields_v1());
        }
        Value::Object(m)
    }

    /// Parses `FieldsV1` JSON (unknown shapes are skipped).
    pub fn from_fields_v1(v: &Value) -> Self {
        let mut s = Self::default();
        if let Value::Object(m) = v {
            if m.is_empty() {
                s.owned = true;
            }
            for (k, c) in m {
                if k == "." {
                    s.owned = true;
                } else {
                    s.children.insert(k.clone(), Self::from_fields_v1(c));
                }
            }
        }
        s
    }
}

/// The value at `path` in `obj`.
fn value_at<'a>(obj: &'a Value, path: &[Elem]) -> Option<&'a Value> {
    let mut v = obj;
    for e in path {
        v = step(v, e)?;
    }
    Some(v)
}

fn matches_key(item: &Value, key_json: &str) -> bool {
    let Ok(Value::Object(want)) = serde_json::from_str::<Value>(key_json) else {
        return false;
    };
    want.iter().all(|(k, w)| match item.get(k) {
        Some(v) if !v.is_null() => v == w,
        _ => k == "protocol" && w == "TCP",
    })
}

fn step<'a>(v: &'a Value, e: &str) -> Option<&'a Value> {
    if let Some(f) = e.strip_prefix("f:") {
        return v.get(f);
    }
    let items = v.as_array()?;
    if let Some(k) = e.strip_prefix("k:") {
        return items.iter().find(|i| matches_key(i, k));
    }
    let want: Value = serde_json::from_str(e.strip_prefix("v:")?).ok()?;
    items.iter().find(|i| **i == want)
}

/// Deletes the field at `path` from `obj` (a list item for `k:`/`v:`).
fn delete_at(obj: &mut Value, path: &[Elem]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut v = obj;
    for e in parent {
        let next = if let Some(f) = e.strip_prefix("f:") {
            v.get_mut(f)
        } else if let Some(k) = e.strip_prefix("k:") {
            v.as_array_mut()
                .and_then(|items| items.iter_mut().find(|i| matches_key(i, k)))
        } else {
            None
        };
        match next {
            Some(n) => v = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = v.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        if let Some(items) = v.as_array_mut() {
            items.retain(|i| !matches_key(i, k));
        }
    } else if let Some(want) = last
        .strip_prefix("v:")
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        && let Some(items) = v.as_array_mut()
    {
        items.retain(|i| *i != want);
    }
}

/// A path in upstream's conflict form: `.spec.ports[port=80,protocol="TCP"].targetPort`.
pub fn display_path(path: &[Elem]) -> String {
    let mut s = String::new();
    for e in path {
        if let Some(f) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = e.strip_prefix("k:") {
            let m: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = e.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

/// A field another manager owns with a different value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owning manager, as upstream's `printManager` shows it: `"m"` for an Apply owner,
    /// `"m" using v1 at 2026-12-01T10:00:00Z` for an Update owner.
    pub manager: String,
    /// The field, as [`display_path`] shows it.
    pub field: String,
}

/// Upstream's `printManager` for an entry.
fn print_manager(e: &Entry) -> String {
    let mut name = format!("{:?}", e.manager);
    if !e.subresource.is_empty() {
        name = format!("{name} with subresource {:?}", e.subresource);
    }
    if e.apply {
        return name;
    }
    match e.raw["time"].as_str() {
        Some(t) => format!("{name} using {} at {t}", e.api_version),
        None => format!("{name} using {}", e.api_version),
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
struct Entry {
    raw: Value,
    manager: String,
    apply: bool,
    api_version: String,
    /// `""` for the main resource, `scale`.
    subresource: String,
    set: FieldSet,
}

/// Whether a write through `subresource` may own the top-level field `key`: writes to the
/// main resource (and `/scale`) never own `status` (upstream's strategies reset it), writes
/// to `/status` own only `status` and `metadata` (their strategies reset `spec`).
fn in_scope(subresource: &str, key: &str) -> bool {
    if subresource == "status" {
        matches!(key, "status" | "metadata")
    } else {
        key != "status"
    }
}

impl Entry {
    /// One raw `managedFields` entry, parsed (unknown shapes read as empty).
    fn parse(e: &Value) -> Self {
        Self {
            raw: e.clone(),
            manager: e["manager"].as_str().unwrap_or_default().to_owned(),
            subresource: e["subresource"].as_str().unwrap_or_default().to_owned(),
            apply: e["operation"] == "Apply",
            api_version: e["apiVersion"].as_str().unwrap_or_default().to_owned(),
            set: FieldSet::from_fields_v1(&e["fieldsV1"]),
        }
    }
}

/// The entries of `live`.
fn entries(live: &Value) -> Vec<Entry> {
    live.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(Entry::parse)
        .collect()
}

/// `obj` without `metadata.managedFields`.
fn strip_managed(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("managedFields");
    }
    o
}

/// The ownership step of an apply: `merged` is the live object with `applied` merged in;
/// `live` the object before (`Null` on create). Returns `merged` with the fields `manager`
/// stopped applying removed and `metadata.managedFields` updated, or the conflicts.
pub fn apply_ownership(
    live: &Value,
    merged: Value,
    applied: &Value,
    manager: &str,
    force: bool,
    now: &str,
    subresource: Option<&str>,
) -> Result<Value, Vec<Conflict>> {
    let sub = subresource.unwrap_or_default();
    let mine = FieldSet::of(applied).scoped(sub);
    let mut all = entries(live);
    let is_own = |e: &Entry| e.apply && e.manager == manager && e.subresource == sub;
    let api_version = applied["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Conflicts: fields other appliers own whose value this apply changes.
    let mut conflicts = Vec::new();
    let mut taken: Vec<(usize, Vec<Elem>)> = Vec::new();
    let paths = mine.paths();
    for (i, e) in all.iter().enumerate() {
        if is_own(e) {
            continue;
        }
        for p in &paths {
            if !e.set.contains(p) {
                continue;
            }
            let (before, after) = (value_at(live, p), value_at(applied, p));
            let differs = match (before, after) {
                (Some(b), Some(a)) => {
                    // List items and objects: their own fields are compared one by one.
                    !(b.is_object() && a.is_object()) && b != a
                }
                _ => false,
            };
            if differs {
                conflicts.push(Conflict {
                    manager: print_manager(e),
                    field: display_path(p),
                });
                taken.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (i, p) in taken {
        all[i].set.remove(&p);
    }
    // Fields this manager applied before and no longer applies go, unless another applier
    // still owns them.
    let mut merged = merged;
    let before = all
        .iter()
        .find(|e| is_own(e))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    for p in before.paths() {
        if mine.contains(&p) {
            continue;
        }
        let shared = all.iter().any(|e| !is_own(e) && e.set.contains(&p));
        if !shared {
            delete_at(&mut merged, &p);
        }
    }
    // The entries: this manager's Apply entry replaced (or appended), empty ones dropped.
    let mut out: Vec<Value> = Vec::new();
    let mut placed = false;
    let fields = mine.to_fields_v1();
    // An apply that changes nothing keeps its entry's time, so the write is a no-op (as
    // upstream's managed-fields timestamp transformer makes it).
    let unchanged = strip_managed(&merged) == strip_managed(live);
    let time = all
        .iter()
        .find(|e| is_own(e))
        .filter(|e| unchanged && e.raw["fieldsV1"] == fields && e.api_version == api_version)
        .and_then(|e| e.raw.get("time").cloned())
        .unwrap_or_else(|| json!(now));
    let mut own = json!({
        "manager": manager,
        "operation": "Apply",
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    });
    if !sub.is_empty() {
        own["subresource"] = json!(sub);
    }
    for e in all {
        if is_own(&e) {
            out.push(own.clone());
            placed = true;
        } else if !e.set.is_empty() {
            let mut raw = e.raw;
            raw["fieldsV1"] = e.set.to_fields_v1();
            out.push(raw);
        }
    }
    if !placed {
        out.push(own);
    }
    if let Some(m) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        m.insert("managedFields".into(), Value::Array(out));
    }
    Ok(merged)
}

impl FieldSet {
    /// The fields `new` sets that `old` does not have with the same value (all of them when
    /// `old` is `Null`).
    pub fn changed(old: &Value, new: &Value) -> Self {
        let mut s = Self::default();
        s.fill_diff(
            Some(old).filter(|o| !o.is_null()),
            new,
            &mut Vec::new(),
            Place::root(new),
        );
        s.owned = false;
        s
    }

    fn fill_diff<'a>(
        &mut self,
        old: Option<&Value>,
        new: &'a Value,
        path: &mut Vec<&'a str>,
        at: Place,
    ) {
        let Some(old) = old else {
            self.fill(new, path, at);
            return;
        };
        match new {
            Value::Object(m) if !m.is_empty() && old.is_object() => {
                for (k, child) in m {
                    if ignored(path, k) || child.is_null() {
                        continue;
                    }
                    path.push(k);
                    let mut node = Self::default();
                    node.fill_diff(
                        old.get(k).filter(|v| !v.is_null()),
                        child,
                        path,
                        at.field(k),
                    );
                    path.pop();
                    if !node.is_empty() {
                        self.children.insert(format!("f:{k}"), node);
                    }
                }
            }
            Value::Array(items)
                if !items.is_empty() && old.is_array() && matches!(at.list, ListKind::Map(_)) =>
            {
                let ListKind::Map(keys) = at.list else {
                    return;
                };
                let item_at = Place {
                    ty: at.ty,
                    list: ListKind::Atomic,
                };
                // The old items by key, computed once (a lookup per new item, not a scan).
                let mut olds: HashMap<Elem, &Value> = HashMap::new();
                for o in old.as_array().into_iter().flatten() {
                    if let Some(k) = item_key(o, keys) {
                        // Duplicated keys: the first item counts, as a scan would find it.
                        olds.entry(k).or_insert(o);
                    }
                }
                for item in items {
                    let Some(k) = item_key(item, keys) else {
                        if old != new {
                            self.owned = true;
                            self.children.clear();
                        }
                        return;
                    };
                    let before = olds.get(&k).copied();
                    let mut node = Self::default();
                    node.fill_diff(before, item, path, item_at);
                    if before.is_none() {
                        node.owned = true;
                    }
                    if !node.is_empty() {
                        self.children.insert(k, node);
                    }
                }
            }
            Value::Array(items) if matches!(at.list, ListKind::Set) => {
                let olds = old.as_array().map(Vec::as_slice).unwrap_or_default();
                for item in items.iter().filter(|i| !olds.contains(i)) {
                    self.children.entry(format!("v:{item}")).or_default().owned = true;
                }
            }
            _ => {
                if old != new {
                    self.fill(new, path, at);
                }
            }
        }
    }
}

/// The ownership step of an `Update` (create, replace, patch) by `manager`: the fields it
/// changed become its own and leave every other entry's set (other managers, and its own
/// entries of other operations, versions or subresources); fields that no longer exist
/// leave every set. `subresource` is `Some("scale")` for a write through `/scale`: its
/// entry carries `subresource: scale` (upstream's scale handler since 1.22), so a later
/// apply of `spec.replicas` conflicts with `kubectl scale`.
///
/// `managedFields` in the request itself, as upstream's field manager reads it
/// (`decodeLiveOrNew`): absent or `null` keeps the live entries; an empty list or a list of
/// one empty entry (`[{}]`) resets them (the object ends up with only this write's own
/// entry, or none when it changed nothing else); any other list replaces them, and this
/// write's changes are recorded on top.
pub fn update_ownership(
    old: &Value,
    mut new: Value,
    manager: &str,
    now: &str,
    subresource: Option<&str>,
) -> Value {
    let base: Vec<Value> = match new.pointer("/metadata/managedFields") {
        Some(Value::Array(sent)) if is_reset(sent) => Vec::new(),
        Some(Value::Array(sent)) => sent.clone(),
        _ => old
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    let sub = subresource.unwrap_or_default();
    let changed = FieldSet::changed(old, &new).scoped(sub);
    let changed_paths = changed.paths();
    let api_version = new["apiVersion"].as_str().unwrap_or_default().to_owned();
    let mut out: Vec<Value> = Vec::new();
    let mut placed = false;
    for raw in &base {
        let e = Entry::parse(raw);
        let own = !e.apply
            && e.manager == manager
            && e.api_version == api_version
            && e.subresource == sub;
        let Entry {
            mut raw, mut set, ..
        } = e;
        if own {
            set.union(&changed);
            set.retain_existing(&new);
            // Upstream stamps the time only when the operation took fields.
            if !changed.is_empty() {
                raw["time"] = json!(now);
            }
            raw["fieldsV1"] = set.to_fields_v1();
            out.push(raw);
            placed = true;
            continue;
        }
        for p in &changed_paths {
            set.remove(p);
        }
        set.retain_existing(&new);
        if !set.is_empty() {
            raw["fieldsV1"] = set.to_fields_v1();
            out.push(raw);
        }
    }
    if !placed && !changed.is_empty() {
        let mut e = json!({
            "manager": manager,
            "operation": "Update",
            "apiVersion": api_version,
            "time": now,
            "fieldsType": "FieldsV1",
            "fieldsV1": changed.to_fields_v1(),
        });
        if !sub.is_empty() {
            e["subresource"] = json!(sub);
        }
        out.push(e);
    }
    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        if out.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(out));
        }
    }
    new
}

impl FieldSet {
    fn union(&mut self, other: &Self) {
        self.owned |= other.owned;
        for (k, c) in &other.children {
            self.children.entry(k.clone()).or_default().union(c);
        }
    }

    /// Drops the paths that `obj` no longer has.
    fn retain_existing(&mut self, obj: &Value) {
        for p in self.paths() {
            if value_at(obj, &p).is_none() {
                self.remove(&p);
            }
        }
    }
}

/// Upstream's `isResetManagedFields`: a present but empty list, or one empty entry.
fn is_reset(sent: &[Value]) -> bool {
    match sent {
        [] => true,
        [only] => only.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

/// Upstream's conflict message (`getConflictMessage`): `Apply failed with 1 conflict:
/// conflict with "a": .spec.replicas`; several are grouped by manager.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    let who = |c: &Conflict| c.manager.clone();
    if let [c] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            who(c),
            c.field
        );
    }
    let mut by: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in conflicts {
        by.entry(who(c)).or_default().push(&c.field);
    }
    let mut lines = Vec::new();
    for (m, fields) in by {
        lines.push(format!("conflicts with {m}:"));
        lines.extend(fields.iter().map(|f| format!("- {f}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// The 409 upstream answers (`NewApplyConflict`): one `FieldManagerConflict` cause per field.
pub fn conflict_error(conflicts: &[Conflict]) -> crate::ApiError {
    crate::ApiError::apply_conflict(
        conflict_message(conflicts),
        conflicts
            .iter()
            .map(|c| (format!("conflict with {}", c.manager), c.field.clone()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `metadata.managedFields` of `obj`.
    fn entries_of(obj: &Value) -> &Vec<Value> {
        obj["metadata"]["managedFields"]
            .as_array()
            .expect("entries")
    }

    /// The managers of `obj`'s entries, in order.
    fn managers(obj: &Value) -> Vec<&str> {
        entries_of(obj)
            .iter()
            .filter_map(|e| e["manager"].as_str())
            .collect()
    }

    fn svc(ports: Value, labels: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "labels": labels},
               "spec": {"ports": ports, "selector": {"app": "web"}}})
    }

    #[test]
    fn field_sets_as_upstream() {
        let s = FieldSet::of(&svc(
            json!([{"port": 80, "targetPort": 8080}]),
            json!({"app": "web"}),
        ));
        assert_eq!(
            s.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:port": {}, "f:targetPort": {}
                    }},
                    "f:selector": {"f:app": {}}
                }
            })
        );
        assert_eq!(FieldSet::from_fields_v1(&s.to_fields_v1()), s);
        assert_eq!(
            display_path(&[
                "f:spec".into(),
                "f:ports".into(),
                "k:{\"port\":80,\"protocol\":\"TCP\"}".into(),
                "f:targetPort".into()
            ]),
            ".spec.ports[port=80,protocol=\"TCP\"].targetPort"
        );
    }

    #[test]
    fn dropped_fields_are_removed_and_conflicts_found() {
        let first = svc(
            json!([{"port": 80}, {"port": 81}]),
            json!({"app": "web", "tier": "x"}),
        );
        let live = apply_ownership(&Value::Null, first.clone(), &first, "a", false, "t", None)
            .expect("first apply");
        // "a" drops a label and a port: both go.
        let second = svc(json!([{"port": 80}]), json!({"app": "web"}));
        let merged = live.clone(); // (the merge keeps them; ownership removes them)
        let out = apply_ownership(&live, merged, &second, "a", false, "t", None).expect("second");
        assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(out["spec"]["ports"], json!([{"port": 80}]));
        // "b" applies another value to a field "a" owns: a conflict, unless forced.
        let third = svc(json!([{"port": 80}]), json!({"app": "other"}));
        let err = apply_ownership(&out, out.clone(), &third, "b", false, "t", None)
            .expect_err("conflict");
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"a\": .metadata.labels.app"
        );
        let mut merged = out.clone();
        merged["metadata"]["labels"]["app"] = json!("other");
        let forced = apply_ownership(&out, merged, &third, "b", true, "t", None).expect("forced");
        let mf = entries_of(&forced);
        assert_eq!(mf.len(), 2, "{mf:?}");
        // "a" lost .metadata.labels.app; the same value of spec.ports is shared.
        assert!(mf[0]["fieldsV1"]["f:metadata"].is_null(), "{mf:?}");
        assert!(!mf[1]["fieldsV1"]["f:spec"]["f:ports"].is_null());
    }

    #[test]
    fn updates_take_what_they_change() {
        let first = svc(json!([{"port": 80}]), json!({"app": "web"}));
        let live = apply_ownership(&Value::Null, first.clone(), &first, "a", false, "t", None)
            .expect("apply");
        // An edit changes the selector: it becomes the editor's, and "a" loses it.
        let mut edited = live.clone();
        edited["metadata"]
            .as_object_mut()
            .map(|m| m.remove("managedFields"));
        edited["spec"]["selector"]["app"] = json!("other");
        let out = update_ownership(&live, edited, "kubectl-edit", "t", None);
        let mf = entries_of(&out);
        assert_eq!(mf.len(), 2, "{mf:?}");
        assert!(
            mf[0]["fieldsV1"]["f:spec"]["f:selector"].is_null(),
            "{mf:?}"
        );
        assert_eq!(mf[1]["manager"], "kubectl-edit");
        assert_eq!(mf[1]["operation"], "Update");
        assert_eq!(
            mf[1]["fieldsV1"],
            json!({"f:spec": {"f:selector": {"f:app": {}}}})
        );
        // A later apply by "a" changing it back conflicts with the editor.
        let err = apply_ownership(&out, out.clone(), &first, "a", false, "t", None)
            .expect_err("conflict");
        assert_eq!(err[0].manager, "\"kubectl-edit\" using v1 at t");
        // A create owns everything it sets.
        let created = update_ownership(&Value::Null, first.clone(), "kubectl-create", "t", None);
        assert_eq!(
            created["metadata"]["managedFields"][0]["fieldsV1"],
            FieldSet::of(&first).to_fields_v1()
        );
    }

    fn deployment(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn list_keys_follow_the_schema_of_every_kind() {
        let d = deployment(json!([{"name": "app", "image": "x",
            "ports": [{"containerPort": 80}], "volumeDevices": [{"devicePath": "/d", "name": "v"}]}]));
        let f = FieldSet::of(&d).to_fields_v1();
        let c = &f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
        assert!(
            !c["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"].is_null(),
            "{f}"
        );
        assert!(
            !c["f:volumeDevices"]["k:{\"devicePath\":\"/d\"}"].is_null(),
            "{f}"
        );
        // A CronJob's pod template, pod-level lists keyed by their own keys.
        let cj = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "job", "image": "x"}],
                "imagePullSecrets": [{"name": "reg"}],
                "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
                "topologySpreadConstraints": [{"topologyKey": "zone",
                    "whenUnsatisfiable": "DoNotSchedule", "maxSkew": 1}]}}}}}});
        let f = FieldSet::of(&cj).to_fields_v1();
        let pod = &f["f:spec"]["f:jobTemplate"]["f:spec"]["f:template"]["f:spec"];
        assert!(
            !pod["f:containers"]["k:{\"name\":\"job\"}"].is_null(),
            "{f}"
        );
        assert!(
            !pod["f:imagePullSecrets"]["k:{\"name\":\"reg\"}"].is_null(),
            "{f}"
        );
        // hostnames is an atomic list inside a keyed item.
        assert_eq!(
            pod["f:hostAliases"]["k:{\"ip\":\"10.0.0.1\"}"]["f:hostnames"],
            json!({}),
            "{f}"
        );
        assert!(
            !pod["f:topologySpreadConstraints"]
                ["k:{\"topologyKey\":\"zone\",\"whenUnsatisfiable\":\"DoNotSchedule\"}"]
                .is_null(),
            "{f}"
        );
        // A kind without list metadata: lists are atomic.
        let es = json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "e"}, "endpoints": [{"addresses": ["10.0.0.1"]}]});
        assert_eq!(FieldSet::of(&es).to_fields_v1(), json!({"f:endpoints": {}}));
    }

    #[test]
    fn two_appliers_own_their_own_containers() {
        let a = deployment(json!([{"name": "app", "image": "app:1"}]));
        let live = apply_ownership(&Value::Null, a.clone(), &a, "a", false, "t", None).expect("a");
        // "b" adds a sidecar: no conflict, and both containers stay.
        let b = deployment(json!([{"name": "sidecar", "image": "side:1"}]));
        let mut merged = live.clone();
        merged["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "side:1"}]);
        let live = apply_ownership(&live, merged, &b, "b", false, "t", None).expect("b");
        // "a" applies a new image of its own container: still no conflict, and the
        // sidecar "a" never applied is not removed.
        let a2 = deployment(json!([{"name": "app", "image": "app:2"}]));
        let mut merged = live.clone();
        merged["spec"]["template"]["spec"]["containers"][0]["image"] = json!("app:2");
        let out = apply_ownership(&live, merged, &a2, "a", false, "t", None).expect("a again");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "app", "image": "app:2"}, {"name": "sidecar", "image": "side:1"}])
        );
        // "b" changing "a"'s image conflicts, naming the keyed path.
        let b2 = deployment(json!([{"name": "app", "image": "app:3"}]));
        let err =
            apply_ownership(&out, out.clone(), &b2, "b", false, "t", None).expect_err("conflict");
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"a\": \
             .spec.template.spec.containers[name=\"app\"].image"
        );
    }

    #[test]
    fn status_writes_own_status_under_the_status_subresource() {
        let mut d = deployment(json!([{"name": "app", "image": "app:1"}]));
        d["spec"]["replicas"] = json!(1);
        let live = apply_ownership(&Value::Null, d.clone(), &d, "a", false, "t0", None).expect("a");
        // A controller's write through /status (spec is the stored one, as the strategy
        // resets it), with a label changed on the way. Ownership follows what the write
        // changed after the registry's status strategy ran (for a real Deployment that
        // strategy also resets labels, as upstream's; this exercises the recording alone).
        let mut st = live.clone();
        st["status"] = json!({"replicas": 1, "readyReplicas": 1});
        st["metadata"]["labels"] = json!({"seen": "yes"});
        let st = update_ownership(&live, st, "ctrl", "t1", Some("status"));
        let mf = entries_of(&st);
        assert_eq!(mf.len(), 2, "{mf:?}");
        assert_eq!(
            mf[1],
            json!({"manager": "ctrl", "operation": "Update", "apiVersion": "apps/v1",
                   "time": "t1", "fieldsType": "FieldsV1", "subresource": "status",
                   "fieldsV1": {"f:metadata": {"f:labels": {"f:seen": {}}},
                                "f:status": {"f:readyReplicas": {}, "f:replicas": {}}}})
        );
        // A main-resource write that carries a status owns none of it.
        let mut main = st.clone();
        main["spec"]["replicas"] = json!(2);
        main["status"]["replicas"] = json!(9);
        let main = update_ownership(&st, main, "edit", "t2", None);
        let mf = entries_of(&main);
        let edit = mf.iter().find(|e| e["manager"] == "edit").expect("edit");
        assert_eq!(edit["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
        // The status entry still owns status (the main write did not take it).
        let ctrl = mf.iter().find(|e| e["manager"] == "ctrl").expect("ctrl");
        assert!(
            ctrl["fieldsV1"]["f:status"]["f:replicas"].is_object(),
            "{mf:?}"
        );
        // A server-side apply to /status owns only status and metadata of what it applies,
        // and conflicts with the status manager it would overrule.
        let applied = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"replicas": 7},
            "status": {"replicas": 3}});
        let mut merged = st.clone();
        merged["status"]["replicas"] = json!(3);
        let err = apply_ownership(
            &st,
            merged.clone(),
            &applied,
            "sa",
            false,
            "t3",
            Some("status"),
        )
        .expect_err("conflict");
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"ctrl\" with subresource \"status\" \
             using apps/v1 at t1: .status.replicas"
        );
        let out = apply_ownership(&st, merged, &applied, "sa", true, "t3", Some("status"))
            .expect("forced");
        let mf = entries_of(&out);
        let sa = mf.iter().find(|e| e["manager"] == "sa").expect("sa");
        assert_eq!(sa["subresource"], "status");
        assert_eq!(sa["operation"], "Apply");
        assert_eq!(sa["fieldsV1"], json!({"f:status": {"f:replicas": {}}}));
    }

    #[test]
    fn scale_writes_own_replicas_under_the_scale_subresource() {
        let mut d = deployment(json!([{"name": "app", "image": "app:1"}]));
        d["spec"]["replicas"] = json!(1);
        let live = apply_ownership(&Value::Null, d.clone(), &d, "a", false, "t0", None).expect("a");
        // `kubectl scale --replicas=3` (a write through /scale).
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(3);
        let scaled = update_ownership(&live, scaled, "kubectl", "t1", Some("scale"));
        let mf = entries_of(&scaled);
        assert_eq!(mf.len(), 2, "{mf:?}");
        assert!(
            mf[0]["fieldsV1"]["f:spec"]["f:replicas"].is_null(),
            "{mf:?}"
        );
        assert_eq!(
            mf[1],
            json!({"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1",
                   "time": "t1", "fieldsType": "FieldsV1", "subresource": "scale",
                   "fieldsV1": {"f:spec": {"f:replicas": {}}}})
        );
        // Applying the old replica count again conflicts with the scale.
        let err = apply_ownership(&scaled, scaled.clone(), &d, "a", false, "t2", None)
            .expect_err("conflict");
        assert_eq!(
            conflict_message(&err),
            "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" \
             using apps/v1 at t1: .spec.replicas"
        );
        // Forced, the applier takes replicas back and the scale entry goes away.
        let mut merged = scaled.clone();
        merged["spec"]["replicas"] = json!(1);
        let forced = apply_ownership(&scaled, merged, &d, "a", true, "t3", None).expect("forced");
        let mf = entries_of(&forced);
        assert_eq!(mf.len(), 1, "{mf:?}");
        // A second scale by the same manager updates its entry.
        let mut again = forced.clone();
        again["spec"]["replicas"] = json!(5);
        let again = update_ownership(&forced, again, "kubectl", "t4", Some("scale"));
        let mut twice = again.clone();
        twice["spec"]["replicas"] = json!(6);
        let twice = update_ownership(&again, twice, "kubectl", "t5", Some("scale"));
        let mf = entries_of(&twice);
        assert_eq!(mf.len(), 2, "{mf:?}");
        assert_eq!(mf[1]["time"], "t5");
    }

    #[test]
    fn managed_fields_sent_in_a_request_as_upstream_reads_them() {
        let first = svc(json!([{"port": 80}]), json!({"app": "web"}));
        let live = update_ownership(&Value::Null, first, "creator", "t0", None);
        assert_eq!(
            live["metadata"]["managedFields"].as_array().map(Vec::len),
            Some(1)
        );
        // Absent: the live entries stay (a label change adds the editor's entry).
        let mut edit = live.clone();
        edit["metadata"]
            .as_object_mut()
            .expect("meta")
            .remove("managedFields");
        edit["metadata"]["labels"]["tier"] = json!("x");
        let out = update_ownership(&live, edit, "editor", "t1", None);
        assert_eq!(managers(&out), ["creator", "editor"]);
        // `[{}]` and `[]` reset: with no other change nothing is left.
        for reset in [json!([{}]), json!([])] {
            let mut r = live.clone();
            r["metadata"]["managedFields"] = reset.clone();
            let out = update_ownership(&live, r, "resetter", "t2", None);
            assert!(
                out["metadata"].get("managedFields").is_none(),
                "{reset}: {out}"
            );
        }
        // A reset with a change keeps only this write's own entry.
        let mut r = live.clone();
        r["metadata"]["managedFields"] = json!([{}]);
        r["metadata"]["labels"]["app"] = json!("other");
        let out = update_ownership(&live, r, "resetter", "t3", None);
        let mf = entries_of(&out);
        assert_eq!(mf.len(), 1);
        assert_eq!(mf[0]["manager"], "resetter");
        assert_eq!(
            mf[0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {"f:app": {}}}})
        );
        // An explicit list replaces the live one, and this write's changes go on top.
        let mut x = live.clone();
        x["metadata"]["managedFields"] = json!([{"manager": "someone", "operation": "Update",
            "apiVersion": "v1", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:selector": {"f:app": {}}}}}]);
        x["metadata"]["labels"]["app"] = json!("third");
        let out = update_ownership(&live, x, "writer", "t4", None);
        assert_eq!(managers(&out), ["someone", "writer"]);
    }
}
