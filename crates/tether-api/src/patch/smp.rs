//! The strategic merge patch, server side: a port of `StrategicMergeMapPatch` from
//! `k8s.io/apimachinery/pkg/util/strategicpatch/patch.go` (`mergeMap` with
//! `MergeParallelList: true, IgnoreUnmatchedNulls: true`), function by function, quirks
//! included, so that every body kubectl computes yields what kube-apiserver would store.
//!
//! Differences, all where upstream would panic or cannot apply: `==` on maps and lists (a Go
//! runtime panic upstream) compares them deeply; a `null` first element of a merged list (a
//! nil-pointer panic upstream) is reported as a type mismatch; a field unknown to the schema is
//! treated as untagged (upstream has the full Go types and errors with `unable to find api
//! field` when both the object and the patch hold a map or list there, which cannot happen
//! with objects that went through typed decoding).

use serde_json::{Map, Value};

use super::gofmt::{self, GoType};
use super::schema::{self, FieldMeta, Strategy, Ty};

type JMap = Map<String, Value>;

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// How kube-apiserver answers an error of `StrategicMergeMapPatch`
/// (`handlers/patch.go` `interpretStrategicMergePatchError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// `ErrBadJSONDoc`, `ErrBadPatchFormatFor{PrimitiveList,RetainKeys,SetElementOrderList}`,
    /// `ErrUnsupportedStrategicMergePatchFormat`: 400 BadRequest.
    BadRequest,
    /// `ErrNoListOfLists`, `ErrPatchContentNotMatchRetainKeys`: 422.
    Unprocessable,
    /// Anything else is passed through unwrapped: 500 with the error text as message.
    Other,
}

/// An error of the merge, with upstream's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SmpError {
    pub(crate) class: Class,
    pub(crate) message: String,
}

type Result<T> = std::result::Result<T, SmpError>;

fn other(message: impl Into<String>) -> SmpError {
    SmpError {
        class: Class::Other,
        message: message.into(),
    }
}

fn bad_request(message: &str) -> SmpError {
    SmpError {
        class: Class::BadRequest,
        message: message.to_owned(),
    }
}

/// `mergepatch.ErrBadPatchFormatForPrimitiveList`.
fn err_bad_primitive_list() -> SmpError {
    bad_request("invalid patch format of primitive list")
}

/// `mergepatch.ErrBadPatchFormatForRetainKeys`.
fn err_bad_retain_keys() -> SmpError {
    bad_request("invalid patch format of retainKeys")
}

/// `mergepatch.ErrBadPatchFormatForSetElementOrderList`.
fn err_bad_set_element_order() -> SmpError {
    bad_request("invalid patch format of setElementOrder list")
}

/// `mergepatch.ErrNoListOfLists`.
fn err_no_list_of_lists() -> SmpError {
    SmpError {
        class: Class::Unprocessable,
        message: "lists of lists are not supported".to_owned(),
    }
}

/// `mergepatch.ErrNoMergeKey`.
fn err_no_merge_key(m: &JMap, key: &str) -> SmpError {
    other(format!(
        "map: {} does not contain declared merge key: {key}",
        gofmt::v_map(m)
    ))
}

/// `mergepatch.ErrBadArgType`.
fn err_bad_arg_type(expected: GoType, actual: &Value) -> SmpError {
    other(format!(
        "expected a {}, but received a {}",
        expected.name(),
        GoType::of(actual).name()
    ))
}

/// `mergepatch.ErrBadPatchType`.
fn err_bad_patch_type(t: &Value, m: &JMap) -> SmpError {
    other(format!(
        "unknown patch type: {} in map: {}",
        gofmt::s(t),
        gofmt::v_map(m)
    ))
}

fn is_str(v: &Value, s: &str) -> bool {
    v.as_str() == Some(s)
}

/// `StrategicMergeMapPatchUsingLookupPatchMeta`: merge `patch` into `original`.
pub(crate) fn strategic_merge(original: JMap, patch: JMap, ty: Ty) -> Result<JMap> {
    merge_map(original, patch, ty)
}

/// `mergeMap`.
fn merge_map(mut original: JMap, mut patch: JMap, ty: Ty) -> Result<JMap> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return handle_directive_in_merge_map(directive.clone(), patch);
    }

    apply_retain_keys_directive(&mut original, &mut patch)?;
    merge_patch_into_original(&mut original, &mut patch, ty)?;

    for (key, patch_v) in patch {
        let (is_delete_list, key) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            (true, extract_key(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?)
        } else {
            (false, key)
        };

        // null deletes the key; unmatched nulls are ignored.
        if patch_v.is_null() {
            original.shift_remove(&key);
            continue;
        }

        // Absent from the original, or of another type: take the patch value.
        let same_type = original
            .get(&key)
            .is_some_and(|o| GoType::of(o) == GoType::of(&patch_v));
        if !same_type {
            if !is_delete_list {
                set_from_patch(&mut original, key, patch_v);
            }
            continue;
        }
        let Some(original_v) = original.get_mut(&key) else {
            continue;
        };

        match (original_v.take(), patch_v) {
            (Value::Object(o), Value::Object(p)) => {
                let (meta, sub) = schema::lookup(ty, &key);
                *original_v = if meta.strategy == Strategy::Replace {
                    Value::Object(p)
                } else {
                    Value::Object(merge_map(o, p, sub)?)
                };
            }
            (Value::Array(o), Value::Array(p)) => {
                let (meta, sub) = schema::lookup(ty, &key);
                *original_v =
                    Value::Array(merge_slice_handler(o, p, sub, meta, is_delete_list)?.list);
            }
            // Scalars of the same type: the patch wins (removeDirectives is the identity).
            (_, p) => *original_v = p,
        }
    }
    Ok(original)
}

/// The branch of `mergeMap` that takes the patch value as it is: nulls discarded, maps with a
/// `$patch` directive dropped.
fn set_from_patch(original: &mut JMap, key: String, mut patch_v: Value) {
    discard_null_values_from_patch(&mut patch_v);
    match remove_directives(patch_v) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

/// `handleDirectiveInMergeMap`.
fn handle_directive_in_merge_map(directive: Value, mut patch: JMap) -> Result<JMap> {
    if is_str(&directive, REPLACE_DIRECTIVE) {
        patch.shift_remove(DIRECTIVE_MARKER);
        return Ok(patch);
    }
    if is_str(&directive, DELETE_DIRECTIVE) {
        return Ok(JMap::new());
    }
    Err(err_bad_patch_type(&directive, &patch))
}

/// `extractKey`: the field name after `<prefix>/`.
fn extract_key(s: &str, prefix: &str) -> Result<String> {
    match s.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest.to_owned()),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST_PREFIX => Err(err_bad_primitive_list()),
        _ => Err(err_bad_set_element_order()),
    }
}

/// `applyRetainKeysDirective`: drop the fields of `original` not named by `$retainKeys`.
fn apply_retain_keys_directive(original: &mut JMap, patch: &mut JMap) -> Result<()> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let Value::Array(retain) = retain else {
        return Err(err_bad_retain_keys());
    };
    let retained = |k: &str| retain.iter().any(|r| is_str(r, k));
    for (k, v) in patch.iter() {
        if v.is_null()
            || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        {
            continue;
        }
        if !retained(k) {
            return Err(err_bad_retain_keys());
        }
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// `mergePatchIntoOriginal`: merge each list that has a `$setElementOrder/<list>` directive and
/// order it as the directive says.
fn merge_patch_into_original(original: &mut JMap, patch: &mut JMap, ty: Ty) -> Result<()> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(set_order) = patch.shift_remove(&key) else {
            continue;
        };
        let Value::Array(set_order) = set_order else {
            return Err(err_bad_arg_type(GoType::Slice, &set_order));
        };
        let original_key = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?;

        let original_list = match original.get(&original_key) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(v) => return Err(err_bad_arg_type(GoType::Slice, v)),
        };
        let patch_list = match patch.get(&original_key) {
            None => None,
            Some(Value::Array(l)) => Some(l.clone()),
            Some(v) => return Err(err_bad_arg_type(GoType::Slice, v)),
        };
        let (meta, sub) = schema::lookup(ty, &original_key);
        let key_name = meta.merge_key;
        validate_patch_with_set_order_list(
            patch_list.as_deref().unwrap_or_default(),
            &set_order,
            key_name,
        )?;

        // originalFieldValue, as the merge leaves it (see `Merged`).
        let mut original_items = original_list.clone().unwrap_or_default();
        let patch_items = patch_list.clone().unwrap_or_default();
        let merged = match (original_list, patch_list) {
            (Some(o), None) => o,
            (None, Some(p)) => match remove_directives(Value::Array(p)) {
                Some(Value::Array(l)) => l,
                _ => continue,
            },
            (Some(o), Some(p)) => {
                let merged = merge_slice_handler(o, p, sub, meta, false)?;
                original_items = merged.original_view;
                merged.list
            }
            (None, None) => continue,
        };

        let (in_patch, server_only) = if key_name.is_empty() {
            partition_primitives_by_present_in_list(merged, &set_order)
        } else {
            partition_maps_by_present_in_list(merged, &set_order, key_name)?
        };
        let kind = slice_element_type(&[&original_items, &patch_items])?;
        let both = normalize_element_order(
            in_patch,
            server_only,
            &set_order,
            &original_items,
            key_name,
            kind,
        )?;
        original.insert(original_key.clone(), Value::Array(both));
        patch.shift_remove(&original_key);
    }
    Ok(())
}

/// `validatePatchWithSetOrderList`: the patch list must follow the order of the directive.
fn validate_patch_with_set_order_list(
    patch_list: &[Value],
    set_order: &[Value],
    merge_key: &str,
) -> Result<()> {
    if set_order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let non_delete: Vec<Value> = if merge_key.is_empty() {
        patch_list.to_vec()
    } else {
        extract_to_delete_items(patch_list.to_vec())?.0
    };
    let (mut pi, mut si) = (0, 0);
    while pi < non_delete.len() && si < set_order.len() {
        if contains_directive_marker(&non_delete[pi]) {
            pi += 1;
            continue;
        }
        if merge_key_value_equal(&non_delete[pi], &set_order[si], merge_key)? {
            pi += 1;
        }
        si += 1;
    }
    if pi < non_delete.len() && si >= set_order.len() {
        return Err(other(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            gofmt::v_slice(patch_list),
            gofmt::v_slice(set_order)
        )));
    }
    Ok(())
}

fn contains_directive_marker(item: &Value) -> bool {
    item.as_object()
        .is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
}

/// `mergeKeyValueEqual`.
fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool> {
    if merge_key.is_empty() {
        return Ok(gofmt::go_eq(left, right));
    }
    let l = left
        .as_object()
        .ok_or_else(|| err_bad_arg_type(GoType::Map, left))?;
    let r = right
        .as_object()
        .ok_or_else(|| err_bad_arg_type(GoType::Map, right))?;
    let lk = l
        .get(merge_key)
        .ok_or_else(|| err_no_merge_key(l, merge_key))?;
    let rk = r
        .get(merge_key)
        .ok_or_else(|| err_no_merge_key(r, merge_key))?;
    Ok(gofmt::go_eq(lk, rk))
}

/// A merged list, and what the caller's view of the original list holds afterwards.
///
/// Go slices share their backing array: `mergeSlice` deletes items by shifting them left in the
/// original's array and appends into the room this frees, and `mergePatchIntoOriginal` then
/// orders the result by the original slice header, which sees those writes. The order of
/// `$setElementOrder` results depends on it (upstream test "add map and delete map from
/// merging list"), so it is modelled here, with the capacity of the original equal to its
/// length, as `runtime.DefaultUnstructuredConverter` builds it.
struct Merged {
    list: Vec<Value>,
    original_view: Vec<Value>,
}

/// `mergeSliceHandler`.
fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    ty: Ty,
    meta: FieldMeta,
    is_delete_list: bool,
) -> Result<Merged> {
    if meta.strategy == Strategy::Merge || is_delete_list {
        merge_slice(original, patch, ty, meta.merge_key, is_delete_list)
    } else {
        Ok(Merged {
            list: patch,
            original_view: original,
        })
    }
}

/// The original's backing array as the caller sees it (`len` = the original length).
struct Backing {
    view: Vec<Value>,
    /// Still the array the merge writes into.
    shared: bool,
}

impl Backing {
    fn new(original: &[Value]) -> Self {
        Self {
            view: original.to_vec(),
            shared: true,
        }
    }

    /// The list now is `current`, after removing the item at `i` (a left shift in place).
    fn removed(&mut self, current: &[Value], i: usize) {
        if self.shared {
            self.view[i..current.len()].clone_from_slice(&current[i..]);
        }
    }

    /// The list now is `current`, after setting the item at `i` in place.
    fn set(&mut self, current: &[Value], i: usize) {
        if self.shared {
            self.view[i] = current[i].clone();
        }
    }

    /// The list now is `current`, after an append: within capacity it writes into the array,
    /// beyond it Go moves the list to a new array.
    fn appended(&mut self, current: &[Value]) {
        if self.shared {
            match self.view.get_mut(current.len() - 1) {
                Some(slot) => *slot = current[current.len() - 1].clone(),
                None => self.shared = false,
            }
        }
    }
}

/// `mergeSlice`.
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    ty: Ty,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<Merged> {
    if original.is_empty() && patch.is_empty() {
        return Ok(Merged {
            list: original.clone(),
            original_view: original,
        });
    }
    let kind = slice_element_type(&[&original, &patch])?;
    let mut backing = Backing::new(&original);

    let (original, patch, merged) = if kind != GoType::Map {
        if is_delete_list {
            let list = delete_from_slice(original.clone(), &patch);
            return Ok(Merged {
                list,
                original_view: original,
            });
        }
        // append(original, patch...) reallocates unless the patch is empty.
        let mut both = original.clone();
        both.extend(patch.iter().cloned());
        let (merged, array) = deduplicate_scalars(both);
        if patch.is_empty() {
            backing.view = array;
        }
        (original, patch, merged)
    } else {
        if merge_key.is_empty() {
            // schema.Name() of a struct element type.
            return Err(other("cannot merge lists without merge key for struct"));
        }
        let (original, patch) =
            merge_slice_with_special_elements(original, patch, merge_key, &mut backing)?;
        let merged = merge_slice_without_special_elements(
            original.clone(),
            &patch,
            merge_key,
            ty,
            &mut backing,
        )?;
        (original, patch, merged)
    };

    let (in_patch, server_only) = if merge_key.is_empty() {
        partition_primitives_by_present_in_list(merged, &patch)
    } else {
        partition_maps_by_present_in_list(merged, &patch, merge_key)?
    };
    let list = normalize_element_order(in_patch, server_only, &patch, &original, merge_key, kind)?;
    Ok(Merged {
        list,
        original_view: backing.view,
    })
}

/// `mergeSliceWithSpecialElements`: apply `$patch: delete` items, and `$patch: replace`.
/// Returns the new original and the patch without directive items.
fn merge_slice_with_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    backing: &mut Backing,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut without_special = Vec::new();
    let mut replace = false;
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type(GoType::Map, &v));
        };
        let Some(directive) = m.get(DIRECTIVE_MARKER) else {
            without_special.push(v);
            continue;
        };
        if is_str(directive, DELETE_DIRECTIVE) {
            let value = m
                .get(merge_key)
                .ok_or_else(|| err_no_merge_key(m, merge_key))?;
            // deleteMatchingEntries: remove every item whose merge key equals `value`.
            while let Some(i) = find_map_in_slice_based_on_key_value(&original, merge_key, value)? {
                original.remove(i);
                backing.removed(&original, i);
            }
        } else if is_str(directive, REPLACE_DIRECTIVE) {
            replace = true;
        } else if is_str(directive, MERGE_DIRECTIVE) {
            return Err(other("merging lists cannot yet be specified in the patch"));
        } else {
            return Err(err_bad_patch_type(directive, m));
        }
    }
    if replace {
        backing.shared = false;
        return Ok((without_special, Vec::new()));
    }
    Ok((original, without_special))
}

/// `mergeSliceWithoutSpecialElements`: merge items with the same merge key, append the others.
fn merge_slice_without_special_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    ty: Ty,
    backing: &mut Backing,
) -> Result<Vec<Value>> {
    for v in patch {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type(GoType::Map, v));
        };
        let value = m
            .get(merge_key)
            .ok_or_else(|| err_no_merge_key(m, merge_key))?;
        match find_map_in_slice_based_on_key_value(&original, merge_key, value)? {
            Some(i) => {
                let item = match original[i].take() {
                    Value::Object(o) => o,
                    _ => JMap::new(),
                };
                original[i] = Value::Object(merge_map(item, m.clone(), ty)?);
                backing.set(&original, i);
            }
            None => {
                original.push(v.clone());
                backing.appended(&original);
            }
        }
    }
    Ok(original)
}

/// `findMapInSliceBasedOnKeyValue`.
fn find_map_in_slice_based_on_key_value(
    list: &[Value],
    key: &str,
    value: &Value,
) -> Result<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let Some(m) = v.as_object() else {
            return Err(other(format!("value for key {i} is not a map")));
        };
        if m.get(key).is_some_and(|k| gofmt::go_eq(k, value)) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// `deleteFromSlice`: the `$deleteFromPrimitiveList` directive.
fn delete_from_slice(current: Vec<Value>, to_delete: &[Value]) -> Vec<Value> {
    current
        .into_iter()
        .filter(|v| !to_delete.iter().any(|d| gofmt::go_eq(v, d)))
        .collect()
}

/// `deduplicateScalars`, with its order-scrambling copy of the last item into the duplicate's
/// place. Returns the deduplicated list and the whole array it was computed in.
fn deduplicate_scalars(mut s: Vec<Value>) -> (Vec<Value>, Vec<Value>) {
    let mut length = s.len();
    let mut i = 0;
    while i + 1 < length {
        let mut j = i + 1;
        while j < length {
            if gofmt::go_eq(&s[i], &s[j]) {
                s[j] = s[length - 1].clone();
                length -= 1;
                continue;
            }
            j += 1;
        }
        i += 1;
    }
    (s[..length].to_vec(), s)
}

/// `sliceElementType`: the common Go type of the items of all lists.
fn slice_element_type(lists: &[&[Value]]) -> Result<GoType> {
    let mut prev: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = GoType::of(v);
        match prev {
            None => {
                if t == GoType::Slice {
                    return Err(err_no_list_of_lists());
                }
                if t == GoType::Nil {
                    return Err(err_not_identical(lists));
                }
                prev = Some(t);
            }
            Some(p) if p != t => return Err(err_not_identical(lists)),
            Some(_) => {}
        }
    }
    prev.ok_or_else(|| other("no elements in any of the given slices"))
}

fn err_not_identical(lists: &[&[Value]]) -> SmpError {
    let parts: Vec<String> = lists.iter().map(|l| gofmt::v_slice(l)).collect();
    other(format!(
        "list element types are not identical: [{}]",
        parts.join(" ")
    ))
}

/// `partitionPrimitivesByPresentInList`.
fn partition_primitives_by_present_in_list(
    list: Vec<Value>,
    partition_by: &[Value],
) -> (Vec<Value>, Vec<Value>) {
    list.into_iter()
        .partition(|v| partition_by.iter().any(|p| gofmt::go_eq(v, p)))
}

/// `partitionMapsByPresentInList`.
fn partition_maps_by_present_in_list(
    list: Vec<Value>,
    partition_by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut in_patch = Vec::with_capacity(list.len());
    let mut server_only = Vec::with_capacity(list.len());
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type(GoType::Map, &v));
        };
        let value = m
            .get(merge_key)
            .ok_or_else(|| err_no_merge_key(m, merge_key))?;
        if find_map_in_slice_based_on_key_value(partition_by, merge_key, value)?.is_some() {
            in_patch.push(v);
        } else {
            server_only.push(v);
        }
    }
    Ok((in_patch, server_only))
}

/// `normalizeElementOrder`: sort the patch items by `patch_order`, the server-only items by
/// `server_order`, then interleave them.
fn normalize_element_order(
    patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>> {
    let patch = normalize_slice_order(patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted_slice(
        server_only,
        patch,
        server_order,
        merge_key,
        kind,
    ))
}

/// `normalizeSliceOrder`: stable sort by position in `order` (items not found there compare
/// as "less", as upstream), `$patch: delete` items last.
fn normalize_slice_order(
    to_sort: Vec<Value>,
    order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>> {
    let (to_sort, to_delete) = if kind == GoType::Map {
        validate_merge_key_in_lists(merge_key, &[&to_sort, order])?;
        extract_to_delete_items(to_sort)?
    } else {
        (to_sort, Vec::new())
    };
    let mut keyed: Vec<(Option<usize>, Value)> = to_sort
        .into_iter()
        .map(|v| (index(order, &v, merge_key, kind), v))
        .collect();
    gofmt::slice_stable(&mut keyed, |a, b| match (a.0, b.0) {
        (Some(i), Some(j)) => i < j,
        _ => true,
    });
    let mut out: Vec<Value> = keyed.into_iter().map(|(_, v)| v).collect();
    out.extend(to_delete);
    Ok(out)
}

/// `validateMergeKeyInLists`.
fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> Result<()> {
    for item in lists.iter().flat_map(|l| l.iter()) {
        let Some(m) = item.as_object() else {
            return Err(err_bad_arg_type(GoType::Map, item));
        };
        if !m.contains_key(merge_key) {
            return Err(err_no_merge_key(m, merge_key));
        }
    }
    Ok(())
}

/// `extractToDeleteItems`: split off the `$patch: delete` items.
fn extract_to_delete_items(list: Vec<Value>) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut keep = Vec::new();
    let mut delete = Vec::new();
    for v in list {
        let Some(m) = v.as_object() else {
            return Err(err_bad_arg_type(GoType::Map, &v));
        };
        if m.get(DIRECTIVE_MARKER)
            .is_some_and(|d| is_str(d, DELETE_DIRECTIVE))
        {
            delete.push(v);
        } else {
            keep.push(v);
        }
    }
    Ok((keep, delete))
}

/// `index`: position of `item` in `list`, by merge key for maps.
fn index(list: &[Value], item: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    if kind == GoType::Map {
        let key_of = |v: &Value| v.as_object().and_then(|m| m.get(merge_key)).cloned();
        let wanted = key_of(item);
        list.iter().position(|v| match (&wanted, key_of(v)) {
            (None, None) => true,
            (Some(a), Some(b)) => gofmt::go_eq(a, &b),
            _ => false,
        })
    } else {
        list.iter().position(|v| gofmt::go_eq(item, v))
    }
}

/// `mergeSortedSlice`: insert the server-only items (`left`) among the patch items (`right`)
/// following the live order.
fn merge_sorted_slice(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Vec<Value> {
    let size = left.len() + right.len();
    let mut out = Vec::with_capacity(size);
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    for _ in 0..size {
        let take_left = match (left.peek(), right.peek()) {
            (Some(_), None) => true,
            (None, _) => false,
            (Some(l), Some(r)) => {
                let li = index(server_order, l, merge_key, kind);
                let ri = index(server_order, r, merge_key, kind);
                matches!((li, ri), (Some(li), Some(ri)) if li < ri)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some(v) = next {
            out.push(v);
        }
    }
    out
}

/// `removeDirectives`: drop every map holding `$patch` (and `None` when `v` itself is one).
pub(crate) fn remove_directives(v: Value) -> Option<Value> {
    match v {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let kept = m
                .into_iter()
                .filter_map(|(k, v)| remove_directives(v).map(|v| (k, v)));
            Some(Value::Object(kept.collect()))
        }
        Value::Array(l) => Some(Value::Array(
            l.into_iter().filter_map(remove_directives).collect(),
        )),
        other => Some(other),
    }
}

/// `discardNullValuesFromPatch`: drop null-valued keys of maps, at any depth.
fn discard_null_values_from_patch(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_null_values_from_patch);
        }
        Value::Array(l) => l.iter_mut().for_each(discard_null_values_from_patch),
        _ => {}
    }
}

/// The directive keys a strategic merge patch understands, for [`super::apply_merge`], which
/// must not interpret them.
pub(crate) fn is_directive_key(k: &str) -> bool {
    k == DIRECTIVE_MARKER
        || k == RETAIN_KEYS_DIRECTIVE
        || k.starts_with(SET_ELEMENT_ORDER_PREFIX)
        || k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
}
