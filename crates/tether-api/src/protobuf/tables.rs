//! Schema table: for every message reachable from the served kinds, its fields by number.
//!
//! Field numbers and wire types follow the `k8s-pb` 0.9 prost structs (Kubernetes 1.35);
//! the JSON names are the upstream JSON names (cross-checked against `k8s-openapi`).
//! `omitempty` marks non-pointer scalar fields whose Go JSON tag carries `omitempty`:
//! Go's protobuf marshaller always writes those, and the JSON path leaves them out when
//! they hold the zero value. `field` is a pointer or non-`omitempty` field, emitted
//! whenever it is on the wire. `inline` embeds a message's fields into the parent object
//! (Go `json:",inline"`, such as `Volume.volumeSource`).
//!
//! `ObjectMeta.creationTimestamp` is `omitzero` in Go from 1.35 on; it stays a plain field
//! here, so a zero time is the `"creationTimestamp": null` kubectl 1.32/1.33 send in JSON.
//! Both mean "unset".
//!
//! Messages are listed dependencies first; each list is sorted by field number, which is
//! also the output key order. To serve another kind, add its messages in the same form
//! (numbers and wire types from its prost struct in `k8s-pb`, JSON names and
//! pointer/`omitempty` from the upstream JSON tags) and a line in `ROOTS`.

use super::schema::Ty::{
    Bool, Bytes, FieldsV1, I32, I64, IntOrString, MicroTime, Msg, Quantity, RawExtension, Str, Time,
};
use super::schema::{Field, Message, field, inline, map, message, omitempty, repeated};

static OWNER_REFERENCE: Message = message("OwnerReference", &[
    field(1, "kind", Str),
    field(3, "name", Str),
    field(4, "uid", Str),
    field(5, "apiVersion", Str),
    field(6, "controller", Bool),
    field(7, "blockOwnerDeletion", Bool),
]);
static MANAGED_FIELDS_ENTRY: Message = message("ManagedFieldsEntry", &[
    omitempty(1, "manager", Str),
    omitempty(2, "operation", Str),
    omitempty(3, "apiVersion", Str),
    field(4, "time", Time),
    omitempty(6, "fieldsType", Str),
    field(7, "fieldsV1", FieldsV1),
    omitempty(8, "subresource", Str),
]);
static OBJECT_META: Message = message("ObjectMeta", &[
    omitempty(1, "name", Str),
    omitempty(2, "generateName", Str),
    omitempty(3, "namespace", Str),
    omitempty(4, "selfLink", Str),
    omitempty(5, "uid", Str),
    omitempty(6, "resourceVersion", Str),
    omitempty(7, "generation", I64),
    field(8, "creationTimestamp", Time),
    field(9, "deletionTimestamp", Time),
    field(10, "deletionGracePeriodSeconds", I64),
    map(11, "labels", Str),
    map(12, "annotations", Str),
    repeated(13, "ownerReferences", Msg(&OWNER_REFERENCE)),
    repeated(14, "finalizers", Str),
    repeated(17, "managedFields", Msg(&MANAGED_FIELDS_ENTRY)),
]);
static NAMESPACE_SPEC: Message = message("NamespaceSpec", &[
    repeated(1, "finalizers", Str),
]);
static NAMESPACE_CONDITION: Message = message("NamespaceCondition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    field(4, "lastTransitionTime", Time),
    omitempty(5, "reason", Str),
    omitempty(6, "message", Str),
]);
static NAMESPACE_STATUS: Message = message("NamespaceStatus", &[
    omitempty(1, "phase", Str),
    repeated(2, "conditions", Msg(&NAMESPACE_CONDITION)),
]);
static NAMESPACE: Message = message("Namespace", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&NAMESPACE_SPEC)),
    field(3, "status", Msg(&NAMESPACE_STATUS)),
]);
static SERVICE_PORT: Message = message("ServicePort", &[
    omitempty(1, "name", Str),
    omitempty(2, "protocol", Str),
    field(3, "port", I32),
    field(4, "targetPort", IntOrString),
    omitempty(5, "nodePort", I32),
    field(6, "appProtocol", Str),
]);
static CLIENT_IP_CONFIG: Message = message("ClientIPConfig", &[
    field(1, "timeoutSeconds", I32),
]);
static SESSION_AFFINITY_CONFIG: Message = message("SessionAffinityConfig", &[
    field(1, "clientIP", Msg(&CLIENT_IP_CONFIG)),
]);
static SERVICE_SPEC: Message = message("ServiceSpec", &[
    repeated(1, "ports", Msg(&SERVICE_PORT)),
    map(2, "selector", Str),
    omitempty(3, "clusterIP", Str),
    omitempty(4, "type", Str),
    repeated(5, "externalIPs", Str),
    omitempty(7, "sessionAffinity", Str),
    omitempty(8, "loadBalancerIP", Str),
    repeated(9, "loadBalancerSourceRanges", Str),
    omitempty(10, "externalName", Str),
    omitempty(11, "externalTrafficPolicy", Str),
    omitempty(12, "healthCheckNodePort", I32),
    omitempty(13, "publishNotReadyAddresses", Bool),
    field(14, "sessionAffinityConfig", Msg(&SESSION_AFFINITY_CONFIG)),
    field(17, "ipFamilyPolicy", Str),
    repeated(18, "clusterIPs", Str),
    repeated(19, "ipFamilies", Str),
    field(20, "allocateLoadBalancerNodePorts", Bool),
    field(21, "loadBalancerClass", Str),
    field(22, "internalTrafficPolicy", Str),
    field(23, "trafficDistribution", Str),
]);
static PORT_STATUS: Message = message("PortStatus", &[
    field(1, "port", I32),
    field(2, "protocol", Str),
    field(3, "error", Str),
]);
static LOAD_BALANCER_INGRESS: Message = message("LoadBalancerIngress", &[
    omitempty(1, "ip", Str),
    omitempty(2, "hostname", Str),
    field(3, "ipMode", Str),
    repeated(4, "ports", Msg(&PORT_STATUS)),
]);
static LOAD_BALANCER_STATUS: Message = message("LoadBalancerStatus", &[
    repeated(1, "ingress", Msg(&LOAD_BALANCER_INGRESS)),
]);
static CONDITION: Message = message("Condition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    omitempty(3, "observedGeneration", I64),
    field(4, "lastTransitionTime", Time),
    field(5, "reason", Str),
    field(6, "message", Str),
]);
static SERVICE_STATUS: Message = message("ServiceStatus", &[
    field(1, "loadBalancer", Msg(&LOAD_BALANCER_STATUS)),
    repeated(2, "conditions", Msg(&CONDITION)),
]);
static SERVICE: Message = message("Service", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&SERVICE_SPEC)),
    field(3, "status", Msg(&SERVICE_STATUS)),
]);
static OBJECT_REFERENCE: Message = message("ObjectReference", &[
    omitempty(1, "kind", Str),
    omitempty(2, "namespace", Str),
    omitempty(3, "name", Str),
    omitempty(4, "uid", Str),
    omitempty(5, "apiVersion", Str),
    omitempty(6, "resourceVersion", Str),
    omitempty(7, "fieldPath", Str),
]);
static ENDPOINT_ADDRESS: Message = message("EndpointAddress", &[
    field(1, "ip", Str),
    field(2, "targetRef", Msg(&OBJECT_REFERENCE)),
    omitempty(3, "hostname", Str),
    field(4, "nodeName", Str),
]);
static ENDPOINT_PORT: Message = message("EndpointPort", &[
    omitempty(1, "name", Str),
    field(2, "port", I32),
    omitempty(3, "protocol", Str),
    field(4, "appProtocol", Str),
]);
static ENDPOINT_SUBSET: Message = message("EndpointSubset", &[
    repeated(1, "addresses", Msg(&ENDPOINT_ADDRESS)),
    repeated(2, "notReadyAddresses", Msg(&ENDPOINT_ADDRESS)),
    repeated(3, "ports", Msg(&ENDPOINT_PORT)),
]);
static ENDPOINTS: Message = message("Endpoints", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    repeated(2, "subsets", Msg(&ENDPOINT_SUBSET)),
]);
static HOST_PATH_VOLUME_SOURCE: Message = message("HostPathVolumeSource", &[
    field(1, "path", Str),
    field(2, "type", Str),
]);
static EMPTY_DIR_VOLUME_SOURCE: Message = message("EmptyDirVolumeSource", &[
    omitempty(1, "medium", Str),
    field(2, "sizeLimit", Quantity),
]);
static GCE_PERSISTENT_DISK_VOLUME_SOURCE: Message = message("GCEPersistentDiskVolumeSource", &[
    field(1, "pdName", Str),
    omitempty(2, "fsType", Str),
    omitempty(3, "partition", I32),
    omitempty(4, "readOnly", Bool),
]);
static AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: Message = message("AWSElasticBlockStoreVolumeSource", &[
    field(1, "volumeID", Str),
    omitempty(2, "fsType", Str),
    omitempty(3, "partition", I32),
    omitempty(4, "readOnly", Bool),
]);
static GIT_REPO_VOLUME_SOURCE: Message = message("GitRepoVolumeSource", &[
    field(1, "repository", Str),
    omitempty(2, "revision", Str),
    omitempty(3, "directory", Str),
]);
static KEY_TO_PATH: Message = message("KeyToPath", &[
    field(1, "key", Str),
    field(2, "path", Str),
    field(3, "mode", I32),
]);
static SECRET_VOLUME_SOURCE: Message = message("SecretVolumeSource", &[
    omitempty(1, "secretName", Str),
    repeated(2, "items", Msg(&KEY_TO_PATH)),
    field(3, "defaultMode", I32),
    field(4, "optional", Bool),
]);
static NFS_VOLUME_SOURCE: Message = message("NFSVolumeSource", &[
    field(1, "server", Str),
    field(2, "path", Str),
    omitempty(3, "readOnly", Bool),
]);
static LOCAL_OBJECT_REFERENCE: Message = message("LocalObjectReference", &[
    omitempty(1, "name", Str),
]);
static ISCSI_VOLUME_SOURCE: Message = message("ISCSIVolumeSource", &[
    field(1, "targetPortal", Str),
    field(2, "iqn", Str),
    field(3, "lun", I32),
    omitempty(4, "iscsiInterface", Str),
    omitempty(5, "fsType", Str),
    omitempty(6, "readOnly", Bool),
    repeated(7, "portals", Str),
    omitempty(8, "chapAuthDiscovery", Bool),
    field(10, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(11, "chapAuthSession", Bool),
    field(12, "initiatorName", Str),
]);
static GLUSTERFS_VOLUME_SOURCE: Message = message("GlusterfsVolumeSource", &[
    field(1, "endpoints", Str),
    field(2, "path", Str),
    omitempty(3, "readOnly", Bool),
]);
static PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE: Message = message("PersistentVolumeClaimVolumeSource", &[
    field(1, "claimName", Str),
    omitempty(2, "readOnly", Bool),
]);
static RBD_VOLUME_SOURCE: Message = message("RBDVolumeSource", &[
    repeated(1, "monitors", Str),
    field(2, "image", Str),
    omitempty(3, "fsType", Str),
    omitempty(4, "pool", Str),
    omitempty(5, "user", Str),
    omitempty(6, "keyring", Str),
    field(7, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(8, "readOnly", Bool),
]);
static FLEX_VOLUME_SOURCE: Message = message("FlexVolumeSource", &[
    field(1, "driver", Str),
    omitempty(2, "fsType", Str),
    field(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(4, "readOnly", Bool),
    map(5, "options", Str),
]);
static CINDER_VOLUME_SOURCE: Message = message("CinderVolumeSource", &[
    field(1, "volumeID", Str),
    omitempty(2, "fsType", Str),
    omitempty(3, "readOnly", Bool),
    field(4, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
]);
static CEPH_FS_VOLUME_SOURCE: Message = message("CephFSVolumeSource", &[
    repeated(1, "monitors", Str),
    omitempty(2, "path", Str),
    omitempty(3, "user", Str),
    omitempty(4, "secretFile", Str),
    field(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(6, "readOnly", Bool),
]);
static FLOCKER_VOLUME_SOURCE: Message = message("FlockerVolumeSource", &[
    omitempty(1, "datasetName", Str),
    omitempty(2, "datasetUUID", Str),
]);
static OBJECT_FIELD_SELECTOR: Message = message("ObjectFieldSelector", &[
    omitempty(1, "apiVersion", Str),
    field(2, "fieldPath", Str),
]);
static RESOURCE_FIELD_SELECTOR: Message = message("ResourceFieldSelector", &[
    omitempty(1, "containerName", Str),
    field(2, "resource", Str),
    field(3, "divisor", Quantity),
]);
static DOWNWARD_API_VOLUME_FILE: Message = message("DownwardAPIVolumeFile", &[
    field(1, "path", Str),
    field(2, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
    field(3, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)),
    field(4, "mode", I32),
]);
static DOWNWARD_API_VOLUME_SOURCE: Message = message("DownwardAPIVolumeSource", &[
    repeated(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)),
    field(2, "defaultMode", I32),
]);
static FC_VOLUME_SOURCE: Message = message("FCVolumeSource", &[
    repeated(1, "targetWWNs", Str),
    field(2, "lun", I32),
    omitempty(3, "fsType", Str),
    omitempty(4, "readOnly", Bool),
    repeated(5, "wwids", Str),
]);
static AZURE_FILE_VOLUME_SOURCE: Message = message("AzureFileVolumeSource", &[
    field(1, "secretName", Str),
    field(2, "shareName", Str),
    omitempty(3, "readOnly", Bool),
]);
static CONFIG_MAP_VOLUME_SOURCE: Message = message("ConfigMapVolumeSource", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    repeated(2, "items", Msg(&KEY_TO_PATH)),
    field(3, "defaultMode", I32),
    field(4, "optional", Bool),
]);
static VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: Message = message("VsphereVirtualDiskVolumeSource", &[
    field(1, "volumePath", Str),
    omitempty(2, "fsType", Str),
    omitempty(3, "storagePolicyName", Str),
    omitempty(4, "storagePolicyID", Str),
]);
static QUOBYTE_VOLUME_SOURCE: Message = message("QuobyteVolumeSource", &[
    field(1, "registry", Str),
    field(2, "volume", Str),
    omitempty(3, "readOnly", Bool),
    omitempty(4, "user", Str),
    omitempty(5, "group", Str),
    omitempty(6, "tenant", Str),
]);
static AZURE_DISK_VOLUME_SOURCE: Message = message("AzureDiskVolumeSource", &[
    field(1, "diskName", Str),
    field(2, "diskURI", Str),
    field(3, "cachingMode", Str),
    field(4, "fsType", Str),
    field(5, "readOnly", Bool),
    field(6, "kind", Str),
]);
static PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: Message = message("PhotonPersistentDiskVolumeSource", &[
    field(1, "pdID", Str),
    omitempty(2, "fsType", Str),
]);
static SECRET_PROJECTION: Message = message("SecretProjection", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    repeated(2, "items", Msg(&KEY_TO_PATH)),
    field(4, "optional", Bool),
]);
static DOWNWARD_API_PROJECTION: Message = message("DownwardAPIProjection", &[
    repeated(1, "items", Msg(&DOWNWARD_API_VOLUME_FILE)),
]);
static CONFIG_MAP_PROJECTION: Message = message("ConfigMapProjection", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    repeated(2, "items", Msg(&KEY_TO_PATH)),
    field(4, "optional", Bool),
]);
static SERVICE_ACCOUNT_TOKEN_PROJECTION: Message = message("ServiceAccountTokenProjection", &[
    omitempty(1, "audience", Str),
    field(2, "expirationSeconds", I64),
    field(3, "path", Str),
]);
static LABEL_SELECTOR_REQUIREMENT: Message = message("LabelSelectorRequirement", &[
    field(1, "key", Str),
    field(2, "operator", Str),
    repeated(3, "values", Str),
]);
static LABEL_SELECTOR: Message = message("LabelSelector", &[
    map(1, "matchLabels", Str),
    repeated(2, "matchExpressions", Msg(&LABEL_SELECTOR_REQUIREMENT)),
]);
static CLUSTER_TRUST_BUNDLE_PROJECTION: Message = message("ClusterTrustBundleProjection", &[
    field(1, "name", Str),
    field(2, "signerName", Str),
    field(3, "labelSelector", Msg(&LABEL_SELECTOR)),
    field(4, "path", Str),
    field(5, "optional", Bool),
]);
static POD_CERTIFICATE_PROJECTION: Message = message("PodCertificateProjection", &[
    omitempty(1, "signerName", Str),
    omitempty(2, "keyType", Str),
    field(3, "maxExpirationSeconds", I32),
    omitempty(4, "credentialBundlePath", Str),
    omitempty(5, "keyPath", Str),
    omitempty(6, "certificateChainPath", Str),
    map(7, "userAnnotations", Str),
]);
static VOLUME_PROJECTION: Message = message("VolumeProjection", &[
    field(1, "secret", Msg(&SECRET_PROJECTION)),
    field(2, "downwardAPI", Msg(&DOWNWARD_API_PROJECTION)),
    field(3, "configMap", Msg(&CONFIG_MAP_PROJECTION)),
    field(4, "serviceAccountToken", Msg(&SERVICE_ACCOUNT_TOKEN_PROJECTION)),
    field(5, "clusterTrustBundle", Msg(&CLUSTER_TRUST_BUNDLE_PROJECTION)),
    field(6, "podCertificate", Msg(&POD_CERTIFICATE_PROJECTION)),
]);
static PROJECTED_VOLUME_SOURCE: Message = message("ProjectedVolumeSource", &[
    repeated(1, "sources", Msg(&VOLUME_PROJECTION)),
    field(2, "defaultMode", I32),
]);
static PORTWORX_VOLUME_SOURCE: Message = message("PortworxVolumeSource", &[
    field(1, "volumeID", Str),
    omitempty(2, "fsType", Str),
    omitempty(3, "readOnly", Bool),
]);
static SCALE_IO_VOLUME_SOURCE: Message = message("ScaleIOVolumeSource", &[
    field(1, "gateway", Str),
    field(2, "system", Str),
    field(3, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(4, "sslEnabled", Bool),
    omitempty(5, "protectionDomain", Str),
    omitempty(6, "storagePool", Str),
    omitempty(7, "storageMode", Str),
    omitempty(8, "volumeName", Str),
    omitempty(9, "fsType", Str),
    omitempty(10, "readOnly", Bool),
]);
static STORAGE_OS_VOLUME_SOURCE: Message = message("StorageOSVolumeSource", &[
    omitempty(1, "volumeName", Str),
    omitempty(2, "volumeNamespace", Str),
    omitempty(3, "fsType", Str),
    omitempty(4, "readOnly", Bool),
    field(5, "secretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
]);
static CSI_VOLUME_SOURCE: Message = message("CSIVolumeSource", &[
    field(1, "driver", Str),
    field(2, "readOnly", Bool),
    field(3, "fsType", Str),
    map(4, "volumeAttributes", Str),
    field(5, "nodePublishSecretRef", Msg(&LOCAL_OBJECT_REFERENCE)),
]);
static VOLUME_RESOURCE_REQUIREMENTS: Message = message("VolumeResourceRequirements", &[
    map(1, "limits", Quantity),
    map(2, "requests", Quantity),
]);
static TYPED_LOCAL_OBJECT_REFERENCE: Message = message("TypedLocalObjectReference", &[
    field(1, "apiGroup", Str),
    field(2, "kind", Str),
    field(3, "name", Str),
]);
static TYPED_OBJECT_REFERENCE: Message = message("TypedObjectReference", &[
    field(1, "apiGroup", Str),
    field(2, "kind", Str),
    field(3, "name", Str),
    field(4, "namespace", Str),
]);
static PERSISTENT_VOLUME_CLAIM_SPEC: Message = message("PersistentVolumeClaimSpec", &[
    repeated(1, "accessModes", Str),
    field(2, "resources", Msg(&VOLUME_RESOURCE_REQUIREMENTS)),
    omitempty(3, "volumeName", Str),
    field(4, "selector", Msg(&LABEL_SELECTOR)),
    field(5, "storageClassName", Str),
    field(6, "volumeMode", Str),
    field(7, "dataSource", Msg(&TYPED_LOCAL_OBJECT_REFERENCE)),
    field(8, "dataSourceRef", Msg(&TYPED_OBJECT_REFERENCE)),
    field(9, "volumeAttributesClassName", Str),
]);
static PERSISTENT_VOLUME_CLAIM_TEMPLATE: Message = message("PersistentVolumeClaimTemplate", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&PERSISTENT_VOLUME_CLAIM_SPEC)),
]);
static EPHEMERAL_VOLUME_SOURCE: Message = message("EphemeralVolumeSource", &[
    field(1, "volumeClaimTemplate", Msg(&PERSISTENT_VOLUME_CLAIM_TEMPLATE)),
]);
static IMAGE_VOLUME_SOURCE: Message = message("ImageVolumeSource", &[
    omitempty(1, "reference", Str),
    omitempty(2, "pullPolicy", Str),
]);
static VOLUME_SOURCE: Message = message("VolumeSource", &[
    field(1, "hostPath", Msg(&HOST_PATH_VOLUME_SOURCE)),
    field(2, "emptyDir", Msg(&EMPTY_DIR_VOLUME_SOURCE)),
    field(3, "gcePersistentDisk", Msg(&GCE_PERSISTENT_DISK_VOLUME_SOURCE)),
    field(4, "awsElasticBlockStore", Msg(&AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE)),
    field(5, "gitRepo", Msg(&GIT_REPO_VOLUME_SOURCE)),
    field(6, "secret", Msg(&SECRET_VOLUME_SOURCE)),
    field(7, "nfs", Msg(&NFS_VOLUME_SOURCE)),
    field(8, "iscsi", Msg(&ISCSI_VOLUME_SOURCE)),
    field(9, "glusterfs", Msg(&GLUSTERFS_VOLUME_SOURCE)),
    field(10, "persistentVolumeClaim", Msg(&PERSISTENT_VOLUME_CLAIM_VOLUME_SOURCE)),
    field(11, "rbd", Msg(&RBD_VOLUME_SOURCE)),
    field(12, "flexVolume", Msg(&FLEX_VOLUME_SOURCE)),
    field(13, "cinder", Msg(&CINDER_VOLUME_SOURCE)),
    field(14, "cephfs", Msg(&CEPH_FS_VOLUME_SOURCE)),
    field(15, "flocker", Msg(&FLOCKER_VOLUME_SOURCE)),
    field(16, "downwardAPI", Msg(&DOWNWARD_API_VOLUME_SOURCE)),
    field(17, "fc", Msg(&FC_VOLUME_SOURCE)),
    field(18, "azureFile", Msg(&AZURE_FILE_VOLUME_SOURCE)),
    field(19, "configMap", Msg(&CONFIG_MAP_VOLUME_SOURCE)),
    field(20, "vsphereVolume", Msg(&VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE)),
    field(21, "quobyte", Msg(&QUOBYTE_VOLUME_SOURCE)),
    field(22, "azureDisk", Msg(&AZURE_DISK_VOLUME_SOURCE)),
    field(23, "photonPersistentDisk", Msg(&PHOTON_PERSISTENT_DISK_VOLUME_SOURCE)),
    field(24, "portworxVolume", Msg(&PORTWORX_VOLUME_SOURCE)),
    field(25, "scaleIO", Msg(&SCALE_IO_VOLUME_SOURCE)),
    field(26, "projected", Msg(&PROJECTED_VOLUME_SOURCE)),
    field(27, "storageos", Msg(&STORAGE_OS_VOLUME_SOURCE)),
    field(28, "csi", Msg(&CSI_VOLUME_SOURCE)),
    field(29, "ephemeral", Msg(&EPHEMERAL_VOLUME_SOURCE)),
    field(30, "image", Msg(&IMAGE_VOLUME_SOURCE)),
]);
static VOLUME: Message = message("Volume", &[
    field(1, "name", Str),
    inline(2, &VOLUME_SOURCE),
]);
static CONTAINER_PORT: Message = message("ContainerPort", &[
    omitempty(1, "name", Str),
    omitempty(2, "hostPort", I32),
    field(3, "containerPort", I32),
    omitempty(4, "protocol", Str),
    omitempty(5, "hostIP", Str),
]);
static CONFIG_MAP_ENV_SOURCE: Message = message("ConfigMapEnvSource", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    field(2, "optional", Bool),
]);
static SECRET_ENV_SOURCE: Message = message("SecretEnvSource", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    field(2, "optional", Bool),
]);
static ENV_FROM_SOURCE: Message = message("EnvFromSource", &[
    omitempty(1, "prefix", Str),
    field(2, "configMapRef", Msg(&CONFIG_MAP_ENV_SOURCE)),
    field(3, "secretRef", Msg(&SECRET_ENV_SOURCE)),
]);
static CONFIG_MAP_KEY_SELECTOR: Message = message("ConfigMapKeySelector", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    field(2, "key", Str),
    field(3, "optional", Bool),
]);
static SECRET_KEY_SELECTOR: Message = message("SecretKeySelector", &[
    inline(1, &LOCAL_OBJECT_REFERENCE),
    field(2, "key", Str),
    field(3, "optional", Bool),
]);
static FILE_KEY_SELECTOR: Message = message("FileKeySelector", &[
    field(1, "volumeName", Str),
    field(2, "path", Str),
    field(3, "key", Str),
    field(4, "optional", Bool),
]);
static ENV_VAR_SOURCE: Message = message("EnvVarSource", &[
    field(1, "fieldRef", Msg(&OBJECT_FIELD_SELECTOR)),
    field(2, "resourceFieldRef", Msg(&RESOURCE_FIELD_SELECTOR)),
    field(3, "configMapKeyRef", Msg(&CONFIG_MAP_KEY_SELECTOR)),
    field(4, "secretKeyRef", Msg(&SECRET_KEY_SELECTOR)),
    field(5, "fileKeyRef", Msg(&FILE_KEY_SELECTOR)),
]);
static ENV_VAR: Message = message("EnvVar", &[
    field(1, "name", Str),
    omitempty(2, "value", Str),
    field(3, "valueFrom", Msg(&ENV_VAR_SOURCE)),
]);
static RESOURCE_CLAIM: Message = message("ResourceClaim", &[
    field(1, "name", Str),
    omitempty(2, "request", Str),
]);
static RESOURCE_REQUIREMENTS: Message = message("ResourceRequirements", &[
    map(1, "limits", Quantity),
    map(2, "requests", Quantity),
    repeated(3, "claims", Msg(&RESOURCE_CLAIM)),
]);
static CONTAINER_RESIZE_POLICY: Message = message("ContainerResizePolicy", &[
    field(1, "resourceName", Str),
    field(2, "restartPolicy", Str),
]);
static CONTAINER_RESTART_RULE_ON_EXIT_CODES: Message = message("ContainerRestartRuleOnExitCodes", &[
    omitempty(1, "operator", Str),
    repeated(2, "values", I32),
]);
static CONTAINER_RESTART_RULE: Message = message("ContainerRestartRule", &[
    omitempty(1, "action", Str),
    field(2, "exitCodes", Msg(&CONTAINER_RESTART_RULE_ON_EXIT_CODES)),
]);
static VOLUME_MOUNT: Message = message("VolumeMount", &[
    field(1, "name", Str),
    omitempty(2, "readOnly", Bool),
    field(3, "mountPath", Str),
    omitempty(4, "subPath", Str),
    field(5, "mountPropagation", Str),
    omitempty(6, "subPathExpr", Str),
    field(7, "recursiveReadOnly", Str),
]);
static VOLUME_DEVICE: Message = message("VolumeDevice", &[
    field(1, "name", Str),
    field(2, "devicePath", Str),
]);
static EXEC_ACTION: Message = message("ExecAction", &[
    repeated(1, "command", Str),
]);
static HTTP_HEADER: Message = message("HTTPHeader", &[
    field(1, "name", Str),
    field(2, "value", Str),
]);
static HTTP_GET_ACTION: Message = message("HTTPGetAction", &[
    omitempty(1, "path", Str),
    field(2, "port", IntOrString),
    omitempty(3, "host", Str),
    omitempty(4, "scheme", Str),
    repeated(5, "httpHeaders", Msg(&HTTP_HEADER)),
]);
static TCP_SOCKET_ACTION: Message = message("TCPSocketAction", &[
    field(1, "port", IntOrString),
    omitempty(2, "host", Str),
]);
static GRPC_ACTION: Message = message("GRPCAction", &[
    field(1, "port", I32),
    field(2, "service", Str),
]);
static PROBE_HANDLER: Message = message("ProbeHandler", &[
    field(1, "exec", Msg(&EXEC_ACTION)),
    field(2, "httpGet", Msg(&HTTP_GET_ACTION)),
    field(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)),
    field(4, "grpc", Msg(&GRPC_ACTION)),
]);
static PROBE: Message = message("Probe", &[
    inline(1, &PROBE_HANDLER),
    omitempty(2, "initialDelaySeconds", I32),
    omitempty(3, "timeoutSeconds", I32),
    omitempty(4, "periodSeconds", I32),
    omitempty(5, "successThreshold", I32),
    omitempty(6, "failureThreshold", I32),
    field(7, "terminationGracePeriodSeconds", I64),
]);
static SLEEP_ACTION: Message = message("SleepAction", &[
    field(1, "seconds", I64),
]);
static LIFECYCLE_HANDLER: Message = message("LifecycleHandler", &[
    field(1, "exec", Msg(&EXEC_ACTION)),
    field(2, "httpGet", Msg(&HTTP_GET_ACTION)),
    field(3, "tcpSocket", Msg(&TCP_SOCKET_ACTION)),
    field(4, "sleep", Msg(&SLEEP_ACTION)),
]);
static LIFECYCLE: Message = message("Lifecycle", &[
    field(1, "postStart", Msg(&LIFECYCLE_HANDLER)),
    field(2, "preStop", Msg(&LIFECYCLE_HANDLER)),
    field(3, "stopSignal", Str),
]);
static CAPABILITIES: Message = message("Capabilities", &[
    repeated(1, "add", Str),
    repeated(2, "drop", Str),
]);
static SE_LINUX_OPTIONS: Message = message("SELinuxOptions", &[
    omitempty(1, "user", Str),
    omitempty(2, "role", Str),
    omitempty(3, "type", Str),
    omitempty(4, "level", Str),
]);
static WINDOWS_SECURITY_CONTEXT_OPTIONS: Message = message("WindowsSecurityContextOptions", &[
    field(1, "gmsaCredentialSpecName", Str),
    field(2, "gmsaCredentialSpec", Str),
    field(3, "runAsUserName", Str),
    field(4, "hostProcess", Bool),
]);
static SECCOMP_PROFILE: Message = message("SeccompProfile", &[
    field(1, "type", Str),
    field(2, "localhostProfile", Str),
]);
static APP_ARMOR_PROFILE: Message = message("AppArmorProfile", &[
    field(1, "type", Str),
    field(2, "localhostProfile", Str),
]);
static SECURITY_CONTEXT: Message = message("SecurityContext", &[
    field(1, "capabilities", Msg(&CAPABILITIES)),
    field(2, "privileged", Bool),
    field(3, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)),
    field(4, "runAsUser", I64),
    field(5, "runAsNonRoot", Bool),
    field(6, "readOnlyRootFilesystem", Bool),
    field(7, "allowPrivilegeEscalation", Bool),
    field(8, "runAsGroup", I64),
    field(9, "procMount", Str),
    field(10, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)),
    field(11, "seccompProfile", Msg(&SECCOMP_PROFILE)),
    field(12, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)),
]);
/// `Container` and `EphemeralContainerCommon` share their fields and numbers.
const CONTAINER_FIELDS: &[Field] = &[
    field(1, "name", Str),
    omitempty(2, "image", Str),
    repeated(3, "command", Str),
    repeated(4, "args", Str),
    omitempty(5, "workingDir", Str),
    repeated(6, "ports", Msg(&CONTAINER_PORT)),
    repeated(7, "env", Msg(&ENV_VAR)),
    field(8, "resources", Msg(&RESOURCE_REQUIREMENTS)),
    repeated(9, "volumeMounts", Msg(&VOLUME_MOUNT)),
    field(10, "livenessProbe", Msg(&PROBE)),
    field(11, "readinessProbe", Msg(&PROBE)),
    field(12, "lifecycle", Msg(&LIFECYCLE)),
    omitempty(13, "terminationMessagePath", Str),
    omitempty(14, "imagePullPolicy", Str),
    field(15, "securityContext", Msg(&SECURITY_CONTEXT)),
    omitempty(16, "stdin", Bool),
    omitempty(17, "stdinOnce", Bool),
    omitempty(18, "tty", Bool),
    repeated(19, "envFrom", Msg(&ENV_FROM_SOURCE)),
    omitempty(20, "terminationMessagePolicy", Str),
    repeated(21, "volumeDevices", Msg(&VOLUME_DEVICE)),
    field(22, "startupProbe", Msg(&PROBE)),
    repeated(23, "resizePolicy", Msg(&CONTAINER_RESIZE_POLICY)),
    field(24, "restartPolicy", Str),
    repeated(25, "restartPolicyRules", Msg(&CONTAINER_RESTART_RULE)),
];
static CONTAINER: Message = message("Container", CONTAINER_FIELDS);
static EPHEMERAL_CONTAINER_COMMON: Message = message("EphemeralContainerCommon", CONTAINER_FIELDS);
static EPHEMERAL_CONTAINER: Message = message("EphemeralContainer", &[
    inline(1, &EPHEMERAL_CONTAINER_COMMON),
    omitempty(2, "targetContainerName", Str),
]);
static SYSCTL: Message = message("Sysctl", &[
    field(1, "name", Str),
    field(2, "value", Str),
]);
static POD_SECURITY_CONTEXT: Message = message("PodSecurityContext", &[
    field(1, "seLinuxOptions", Msg(&SE_LINUX_OPTIONS)),
    field(2, "runAsUser", I64),
    field(3, "runAsNonRoot", Bool),
    repeated(4, "supplementalGroups", I64),
    field(5, "fsGroup", I64),
    field(6, "runAsGroup", I64),
    repeated(7, "sysctls", Msg(&SYSCTL)),
    field(8, "windowsOptions", Msg(&WINDOWS_SECURITY_CONTEXT_OPTIONS)),
    field(9, "fsGroupChangePolicy", Str),
    field(10, "seccompProfile", Msg(&SECCOMP_PROFILE)),
    field(11, "appArmorProfile", Msg(&APP_ARMOR_PROFILE)),
    field(12, "supplementalGroupsPolicy", Str),
    field(13, "seLinuxChangePolicy", Str),
]);
static NODE_SELECTOR_REQUIREMENT: Message = message("NodeSelectorRequirement", &[
    field(1, "key", Str),
    field(2, "operator", Str),
    repeated(3, "values", Str),
]);
static NODE_SELECTOR_TERM: Message = message("NodeSelectorTerm", &[
    repeated(1, "matchExpressions", Msg(&NODE_SELECTOR_REQUIREMENT)),
    repeated(2, "matchFields", Msg(&NODE_SELECTOR_REQUIREMENT)),
]);
static NODE_SELECTOR: Message = message("NodeSelector", &[
    repeated(1, "nodeSelectorTerms", Msg(&NODE_SELECTOR_TERM)),
]);
static PREFERRED_SCHEDULING_TERM: Message = message("PreferredSchedulingTerm", &[
    field(1, "weight", I32),
    field(2, "preference", Msg(&NODE_SELECTOR_TERM)),
]);
static NODE_AFFINITY: Message = message("NodeAffinity", &[
    field(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&NODE_SELECTOR)),
    repeated(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&PREFERRED_SCHEDULING_TERM)),
]);
static POD_AFFINITY_TERM: Message = message("PodAffinityTerm", &[
    field(1, "labelSelector", Msg(&LABEL_SELECTOR)),
    repeated(2, "namespaces", Str),
    field(3, "topologyKey", Str),
    field(4, "namespaceSelector", Msg(&LABEL_SELECTOR)),
    repeated(5, "matchLabelKeys", Str),
    repeated(6, "mismatchLabelKeys", Str),
]);
static WEIGHTED_POD_AFFINITY_TERM: Message = message("WeightedPodAffinityTerm", &[
    field(1, "weight", I32),
    field(2, "podAffinityTerm", Msg(&POD_AFFINITY_TERM)),
]);
static POD_AFFINITY: Message = message("PodAffinity", &[
    repeated(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
    repeated(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM)),
]);
static POD_ANTI_AFFINITY: Message = message("PodAntiAffinity", &[
    repeated(1, "requiredDuringSchedulingIgnoredDuringExecution", Msg(&POD_AFFINITY_TERM)),
    repeated(2, "preferredDuringSchedulingIgnoredDuringExecution", Msg(&WEIGHTED_POD_AFFINITY_TERM)),
]);
static AFFINITY: Message = message("Affinity", &[
    field(1, "nodeAffinity", Msg(&NODE_AFFINITY)),
    field(2, "podAffinity", Msg(&POD_AFFINITY)),
    field(3, "podAntiAffinity", Msg(&POD_ANTI_AFFINITY)),
]);
static TOLERATION: Message = message("Toleration", &[
    omitempty(1, "key", Str),
    omitempty(2, "operator", Str),
    omitempty(3, "value", Str),
    omitempty(4, "effect", Str),
    field(5, "tolerationSeconds", I64),
]);
static HOST_ALIAS: Message = message("HostAlias", &[
    field(1, "ip", Str),
    repeated(2, "hostnames", Str),
]);
static POD_DNS_CONFIG_OPTION: Message = message("PodDNSConfigOption", &[
    omitempty(1, "name", Str),
    field(2, "value", Str),
]);
static POD_DNS_CONFIG: Message = message("PodDNSConfig", &[
    repeated(1, "nameservers", Str),
    repeated(2, "searches", Str),
    repeated(3, "options", Msg(&POD_DNS_CONFIG_OPTION)),
]);
static POD_READINESS_GATE: Message = message("PodReadinessGate", &[
    field(1, "conditionType", Str),
]);
static TOPOLOGY_SPREAD_CONSTRAINT: Message = message("TopologySpreadConstraint", &[
    field(1, "maxSkew", I32),
    field(2, "topologyKey", Str),
    field(3, "whenUnsatisfiable", Str),
    field(4, "labelSelector", Msg(&LABEL_SELECTOR)),
    field(5, "minDomains", I32),
    field(6, "nodeAffinityPolicy", Str),
    field(7, "nodeTaintsPolicy", Str),
    repeated(8, "matchLabelKeys", Str),
]);
static POD_OS: Message = message("PodOS", &[
    field(1, "name", Str),
]);
static POD_SCHEDULING_GATE: Message = message("PodSchedulingGate", &[
    field(1, "name", Str),
]);
static POD_RESOURCE_CLAIM: Message = message("PodResourceClaim", &[
    field(1, "name", Str),
    field(3, "resourceClaimName", Str),
    field(4, "resourceClaimTemplateName", Str),
]);
static WORKLOAD_REFERENCE: Message = message("WorkloadReference", &[
    field(1, "name", Str),
    field(2, "podGroup", Str),
    omitempty(3, "podGroupReplicaKey", Str),
]);
static POD_SPEC: Message = message("PodSpec", &[
    repeated(1, "volumes", Msg(&VOLUME)),
    repeated(2, "containers", Msg(&CONTAINER)),
    omitempty(3, "restartPolicy", Str),
    field(4, "terminationGracePeriodSeconds", I64),
    field(5, "activeDeadlineSeconds", I64),
    omitempty(6, "dnsPolicy", Str),
    map(7, "nodeSelector", Str),
    omitempty(8, "serviceAccountName", Str),
    omitempty(9, "serviceAccount", Str),
    omitempty(10, "nodeName", Str),
    omitempty(11, "hostNetwork", Bool),
    omitempty(12, "hostPID", Bool),
    omitempty(13, "hostIPC", Bool),
    field(14, "securityContext", Msg(&POD_SECURITY_CONTEXT)),
    repeated(15, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)),
    omitempty(16, "hostname", Str),
    omitempty(17, "subdomain", Str),
    field(18, "affinity", Msg(&AFFINITY)),
    omitempty(19, "schedulerName", Str),
    repeated(20, "initContainers", Msg(&CONTAINER)),
    field(21, "automountServiceAccountToken", Bool),
    repeated(22, "tolerations", Msg(&TOLERATION)),
    repeated(23, "hostAliases", Msg(&HOST_ALIAS)),
    omitempty(24, "priorityClassName", Str),
    field(25, "priority", I32),
    field(26, "dnsConfig", Msg(&POD_DNS_CONFIG)),
    field(27, "shareProcessNamespace", Bool),
    repeated(28, "readinessGates", Msg(&POD_READINESS_GATE)),
    field(29, "runtimeClassName", Str),
    field(30, "enableServiceLinks", Bool),
    field(31, "preemptionPolicy", Str),
    map(32, "overhead", Quantity),
    repeated(33, "topologySpreadConstraints", Msg(&TOPOLOGY_SPREAD_CONSTRAINT)),
    repeated(34, "ephemeralContainers", Msg(&EPHEMERAL_CONTAINER)),
    field(35, "setHostnameAsFQDN", Bool),
    field(36, "os", Msg(&POD_OS)),
    field(37, "hostUsers", Bool),
    repeated(38, "schedulingGates", Msg(&POD_SCHEDULING_GATE)),
    repeated(39, "resourceClaims", Msg(&POD_RESOURCE_CLAIM)),
    field(40, "resources", Msg(&RESOURCE_REQUIREMENTS)),
    field(41, "hostnameOverride", Str),
    field(42, "workloadRef", Msg(&WORKLOAD_REFERENCE)),
]);
static POD_CONDITION: Message = message("PodCondition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    field(3, "lastProbeTime", Time),
    field(4, "lastTransitionTime", Time),
    omitempty(5, "reason", Str),
    omitempty(6, "message", Str),
    omitempty(7, "observedGeneration", I64),
]);
static HOST_IP: Message = message("HostIP", &[
    field(1, "ip", Str),
]);
static POD_IP: Message = message("PodIP", &[
    field(1, "ip", Str),
]);
static CONTAINER_STATE_WAITING: Message = message("ContainerStateWaiting", &[
    omitempty(1, "reason", Str),
    omitempty(2, "message", Str),
]);
static CONTAINER_STATE_RUNNING: Message = message("ContainerStateRunning", &[
    field(1, "startedAt", Time),
]);
static CONTAINER_STATE_TERMINATED: Message = message("ContainerStateTerminated", &[
    field(1, "exitCode", I32),
    omitempty(2, "signal", I32),
    omitempty(3, "reason", Str),
    omitempty(4, "message", Str),
    field(5, "startedAt", Time),
    field(6, "finishedAt", Time),
    omitempty(7, "containerID", Str),
]);
static CONTAINER_STATE: Message = message("ContainerState", &[
    field(1, "waiting", Msg(&CONTAINER_STATE_WAITING)),
    field(2, "running", Msg(&CONTAINER_STATE_RUNNING)),
    field(3, "terminated", Msg(&CONTAINER_STATE_TERMINATED)),
]);
static VOLUME_MOUNT_STATUS: Message = message("VolumeMountStatus", &[
    field(1, "name", Str),
    field(2, "mountPath", Str),
    omitempty(3, "readOnly", Bool),
    field(4, "recursiveReadOnly", Str),
]);
static LINUX_CONTAINER_USER: Message = message("LinuxContainerUser", &[
    field(1, "uid", I64),
    field(2, "gid", I64),
    repeated(3, "supplementalGroups", I64),
]);
static CONTAINER_USER: Message = message("ContainerUser", &[
    field(1, "linux", Msg(&LINUX_CONTAINER_USER)),
]);
static RESOURCE_HEALTH: Message = message("ResourceHealth", &[
    field(1, "resourceID", Str),
    omitempty(2, "health", Str),
]);
static RESOURCE_STATUS: Message = message("ResourceStatus", &[
    field(1, "name", Str),
    repeated(2, "resources", Msg(&RESOURCE_HEALTH)),
]);
static CONTAINER_STATUS: Message = message("ContainerStatus", &[
    field(1, "name", Str),
    field(2, "state", Msg(&CONTAINER_STATE)),
    field(3, "lastState", Msg(&CONTAINER_STATE)),
    field(4, "ready", Bool),
    field(5, "restartCount", I32),
    field(6, "image", Str),
    field(7, "imageID", Str),
    omitempty(8, "containerID", Str),
    field(9, "started", Bool),
    map(10, "allocatedResources", Quantity),
    field(11, "resources", Msg(&RESOURCE_REQUIREMENTS)),
    repeated(12, "volumeMounts", Msg(&VOLUME_MOUNT_STATUS)),
    field(13, "user", Msg(&CONTAINER_USER)),
    repeated(14, "allocatedResourcesStatus", Msg(&RESOURCE_STATUS)),
    field(15, "stopSignal", Str),
]);
static POD_RESOURCE_CLAIM_STATUS: Message = message("PodResourceClaimStatus", &[
    field(1, "name", Str),
    field(2, "resourceClaimName", Str),
]);
static CONTAINER_EXTENDED_RESOURCE_REQUEST: Message = message("ContainerExtendedResourceRequest", &[
    field(1, "containerName", Str),
    field(2, "resourceName", Str),
    field(3, "requestName", Str),
]);
static POD_EXTENDED_RESOURCE_CLAIM_STATUS: Message = message("PodExtendedResourceClaimStatus", &[
    repeated(1, "requestMappings", Msg(&CONTAINER_EXTENDED_RESOURCE_REQUEST)),
    field(2, "resourceClaimName", Str),
]);
static POD_STATUS: Message = message("PodStatus", &[
    omitempty(1, "phase", Str),
    repeated(2, "conditions", Msg(&POD_CONDITION)),
    omitempty(3, "message", Str),
    omitempty(4, "reason", Str),
    omitempty(5, "hostIP", Str),
    omitempty(6, "podIP", Str),
    field(7, "startTime", Time),
    repeated(8, "containerStatuses", Msg(&CONTAINER_STATUS)),
    omitempty(9, "qosClass", Str),
    repeated(10, "initContainerStatuses", Msg(&CONTAINER_STATUS)),
    omitempty(11, "nominatedNodeName", Str),
    repeated(12, "podIPs", Msg(&POD_IP)),
    repeated(13, "ephemeralContainerStatuses", Msg(&CONTAINER_STATUS)),
    omitempty(14, "resize", Str),
    repeated(15, "resourceClaimStatuses", Msg(&POD_RESOURCE_CLAIM_STATUS)),
    repeated(16, "hostIPs", Msg(&HOST_IP)),
    omitempty(17, "observedGeneration", I64),
    field(18, "extendedResourceClaimStatus", Msg(&POD_EXTENDED_RESOURCE_CLAIM_STATUS)),
    map(19, "allocatedResources", Quantity),
    field(20, "resources", Msg(&RESOURCE_REQUIREMENTS)),
]);
static POD: Message = message("Pod", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&POD_SPEC)),
    field(3, "status", Msg(&POD_STATUS)),
]);
static BINDING: Message = message("Binding", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "target", Msg(&OBJECT_REFERENCE)),
]);
static TAINT: Message = message("Taint", &[
    field(1, "key", Str),
    omitempty(2, "value", Str),
    field(3, "effect", Str),
    field(4, "timeAdded", Time),
]);
static CONFIG_MAP_NODE_CONFIG_SOURCE: Message = message("ConfigMapNodeConfigSource", &[
    field(1, "namespace", Str),
    field(2, "name", Str),
    omitempty(3, "uid", Str),
    omitempty(4, "resourceVersion", Str),
    field(5, "kubeletConfigKey", Str),
]);
static NODE_CONFIG_SOURCE: Message = message("NodeConfigSource", &[
    field(2, "configMap", Msg(&CONFIG_MAP_NODE_CONFIG_SOURCE)),
]);
static NODE_SPEC: Message = message("NodeSpec", &[
    omitempty(1, "podCIDR", Str),
    omitempty(2, "externalID", Str),
    omitempty(3, "providerID", Str),
    omitempty(4, "unschedulable", Bool),
    repeated(5, "taints", Msg(&TAINT)),
    field(6, "configSource", Msg(&NODE_CONFIG_SOURCE)),
    repeated(7, "podCIDRs", Str),
]);
static NODE_CONDITION: Message = message("NodeCondition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    field(3, "lastHeartbeatTime", Time),
    field(4, "lastTransitionTime", Time),
    omitempty(5, "reason", Str),
    omitempty(6, "message", Str),
]);
static NODE_ADDRESS: Message = message("NodeAddress", &[
    field(1, "type", Str),
    field(2, "address", Str),
]);
static DAEMON_ENDPOINT: Message = message("DaemonEndpoint", &[
    field(1, "Port", I32),
]);
static NODE_DAEMON_ENDPOINTS: Message = message("NodeDaemonEndpoints", &[
    field(1, "kubeletEndpoint", Msg(&DAEMON_ENDPOINT)),
]);
static NODE_SWAP_STATUS: Message = message("NodeSwapStatus", &[
    field(1, "capacity", I64),
]);
static NODE_SYSTEM_INFO: Message = message("NodeSystemInfo", &[
    field(1, "machineID", Str),
    field(2, "systemUUID", Str),
    field(3, "bootID", Str),
    field(4, "kernelVersion", Str),
    field(5, "osImage", Str),
    field(6, "containerRuntimeVersion", Str),
    field(7, "kubeletVersion", Str),
    field(8, "kubeProxyVersion", Str),
    field(9, "operatingSystem", Str),
    field(10, "architecture", Str),
    field(11, "swap", Msg(&NODE_SWAP_STATUS)),
]);
static CONTAINER_IMAGE: Message = message("ContainerImage", &[
    repeated(1, "names", Str),
    omitempty(2, "sizeBytes", I64),
]);
static ATTACHED_VOLUME: Message = message("AttachedVolume", &[
    field(1, "name", Str),
    field(2, "devicePath", Str),
]);
static NODE_CONFIG_STATUS: Message = message("NodeConfigStatus", &[
    field(1, "assigned", Msg(&NODE_CONFIG_SOURCE)),
    field(2, "active", Msg(&NODE_CONFIG_SOURCE)),
    field(3, "lastKnownGood", Msg(&NODE_CONFIG_SOURCE)),
    omitempty(4, "error", Str),
]);
static NODE_RUNTIME_HANDLER_FEATURES: Message = message("NodeRuntimeHandlerFeatures", &[
    field(1, "recursiveReadOnlyMounts", Bool),
    field(2, "userNamespaces", Bool),
]);
static NODE_RUNTIME_HANDLER: Message = message("NodeRuntimeHandler", &[
    field(1, "name", Str),
    field(2, "features", Msg(&NODE_RUNTIME_HANDLER_FEATURES)),
]);
static NODE_FEATURES: Message = message("NodeFeatures", &[
    field(1, "supplementalGroupsPolicy", Bool),
]);
static NODE_STATUS: Message = message("NodeStatus", &[
    map(1, "capacity", Quantity),
    map(2, "allocatable", Quantity),
    omitempty(3, "phase", Str),
    repeated(4, "conditions", Msg(&NODE_CONDITION)),
    repeated(5, "addresses", Msg(&NODE_ADDRESS)),
    field(6, "daemonEndpoints", Msg(&NODE_DAEMON_ENDPOINTS)),
    field(7, "nodeInfo", Msg(&NODE_SYSTEM_INFO)),
    repeated(8, "images", Msg(&CONTAINER_IMAGE)),
    repeated(9, "volumesInUse", Str),
    repeated(10, "volumesAttached", Msg(&ATTACHED_VOLUME)),
    field(11, "config", Msg(&NODE_CONFIG_STATUS)),
    repeated(12, "runtimeHandlers", Msg(&NODE_RUNTIME_HANDLER)),
    field(13, "features", Msg(&NODE_FEATURES)),
    repeated(14, "declaredFeatures", Str),
]);
static NODE: Message = message("Node", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&NODE_SPEC)),
    field(3, "status", Msg(&NODE_STATUS)),
]);
static EVENT_SOURCE: Message = message("EventSource", &[
    omitempty(1, "component", Str),
    omitempty(2, "host", Str),
]);
static EVENT_SERIES: Message = message("EventSeries", &[
    omitempty(1, "count", I32),
    field(2, "lastObservedTime", MicroTime),
]);
static EVENT: Message = message("Event", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "involvedObject", Msg(&OBJECT_REFERENCE)),
    omitempty(3, "reason", Str),
    omitempty(4, "message", Str),
    field(5, "source", Msg(&EVENT_SOURCE)),
    field(6, "firstTimestamp", Time),
    field(7, "lastTimestamp", Time),
    omitempty(8, "count", I32),
    omitempty(9, "type", Str),
    field(10, "eventTime", MicroTime),
    field(11, "series", Msg(&EVENT_SERIES)),
    omitempty(12, "action", Str),
    field(13, "related", Msg(&OBJECT_REFERENCE)),
    field(14, "reportingComponent", Str),
    field(15, "reportingInstance", Str),
]);
static CONFIG_MAP: Message = message("ConfigMap", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    map(2, "data", Str),
    map(3, "binaryData", Bytes),
    field(4, "immutable", Bool),
]);
static SECRET: Message = message("Secret", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    map(2, "data", Bytes),
    omitempty(3, "type", Str),
    map(4, "stringData", Str),
    field(5, "immutable", Bool),
]);
static SERVICE_ACCOUNT: Message = message("ServiceAccount", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    repeated(2, "secrets", Msg(&OBJECT_REFERENCE)),
    repeated(3, "imagePullSecrets", Msg(&LOCAL_OBJECT_REFERENCE)),
    field(4, "automountServiceAccountToken", Bool),
]);
static POD_TEMPLATE_SPEC: Message = message("PodTemplateSpec", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&POD_SPEC)),
]);
static ROLLING_UPDATE_DEPLOYMENT: Message = message("RollingUpdateDeployment", &[
    field(1, "maxUnavailable", IntOrString),
    field(2, "maxSurge", IntOrString),
]);
static DEPLOYMENT_STRATEGY: Message = message("DeploymentStrategy", &[
    omitempty(1, "type", Str),
    field(2, "rollingUpdate", Msg(&ROLLING_UPDATE_DEPLOYMENT)),
]);
static DEPLOYMENT_SPEC: Message = message("DeploymentSpec", &[
    field(1, "replicas", I32),
    field(2, "selector", Msg(&LABEL_SELECTOR)),
    field(3, "template", Msg(&POD_TEMPLATE_SPEC)),
    field(4, "strategy", Msg(&DEPLOYMENT_STRATEGY)),
    omitempty(5, "minReadySeconds", I32),
    field(6, "revisionHistoryLimit", I32),
    omitempty(7, "paused", Bool),
    field(9, "progressDeadlineSeconds", I32),
]);
static DEPLOYMENT_CONDITION: Message = message("DeploymentCondition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    omitempty(4, "reason", Str),
    omitempty(5, "message", Str),
    field(6, "lastUpdateTime", Time),
    field(7, "lastTransitionTime", Time),
]);
static DEPLOYMENT_STATUS: Message = message("DeploymentStatus", &[
    omitempty(1, "observedGeneration", I64),
    omitempty(2, "replicas", I32),
    omitempty(3, "updatedReplicas", I32),
    omitempty(4, "availableReplicas", I32),
    omitempty(5, "unavailableReplicas", I32),
    repeated(6, "conditions", Msg(&DEPLOYMENT_CONDITION)),
    omitempty(7, "readyReplicas", I32),
    field(8, "collisionCount", I32),
    field(9, "terminatingReplicas", I32),
]);
static DEPLOYMENT: Message = message("Deployment", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&DEPLOYMENT_SPEC)),
    field(3, "status", Msg(&DEPLOYMENT_STATUS)),
]);
static REPLICA_SET_SPEC: Message = message("ReplicaSetSpec", &[
    field(1, "replicas", I32),
    field(2, "selector", Msg(&LABEL_SELECTOR)),
    field(3, "template", Msg(&POD_TEMPLATE_SPEC)),
    omitempty(4, "minReadySeconds", I32),
]);
static REPLICA_SET_CONDITION: Message = message("ReplicaSetCondition", &[
    field(1, "type", Str),
    field(2, "status", Str),
    field(3, "lastTransitionTime", Time),
    omitempty(4, "reason", Str),
    omitempty(5, "message", Str),
]);
static REPLICA_SET_STATUS: Message = message("ReplicaSetStatus", &[
    field(1, "replicas", I32),
    omitempty(2, "fullyLabeledReplicas", I32),
    omitempty(3, "observedGeneration", I64),
    omitempty(4, "readyReplicas", I32),
    omitempty(5, "availableReplicas", I32),
    repeated(6, "conditions", Msg(&REPLICA_SET_CONDITION)),
    field(7, "terminatingReplicas", I32),
]);
static REPLICA_SET: Message = message("ReplicaSet", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&REPLICA_SET_SPEC)),
    field(3, "status", Msg(&REPLICA_SET_STATUS)),
]);
static CONTROLLER_REVISION: Message = message("ControllerRevision", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "data", RawExtension),
    field(3, "revision", I64),
]);
static SCALE_SPEC: Message = message("ScaleSpec", &[
    omitempty(1, "replicas", I32),
]);
static SCALE_STATUS: Message = message("ScaleStatus", &[
    field(1, "replicas", I32),
    omitempty(2, "selector", Str),
]);
static SCALE: Message = message("Scale", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&SCALE_SPEC)),
    field(3, "status", Msg(&SCALE_STATUS)),
]);
static ENDPOINT_CONDITIONS: Message = message("EndpointConditions", &[
    field(1, "ready", Bool),
    field(2, "serving", Bool),
    field(3, "terminating", Bool),
]);
static FOR_ZONE: Message = message("ForZone", &[
    field(1, "name", Str),
]);
static FOR_NODE: Message = message("ForNode", &[
    field(1, "name", Str),
]);
static ENDPOINT_HINTS: Message = message("EndpointHints", &[
    repeated(1, "forZones", Msg(&FOR_ZONE)),
    repeated(2, "forNodes", Msg(&FOR_NODE)),
]);
static ENDPOINT: Message = message("Endpoint", &[
    repeated(1, "addresses", Str),
    field(2, "conditions", Msg(&ENDPOINT_CONDITIONS)),
    field(3, "hostname", Str),
    field(4, "targetRef", Msg(&OBJECT_REFERENCE)),
    map(5, "deprecatedTopology", Str),
    field(6, "nodeName", Str),
    field(7, "zone", Str),
    field(8, "hints", Msg(&ENDPOINT_HINTS)),
]);
static DISCOVERY_ENDPOINT_PORT: Message = message("EndpointPort", &[
    field(1, "name", Str),
    field(2, "protocol", Str),
    field(3, "port", I32),
    field(4, "appProtocol", Str),
]);
static ENDPOINT_SLICE: Message = message("EndpointSlice", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    repeated(2, "endpoints", Msg(&ENDPOINT)),
    repeated(3, "ports", Msg(&DISCOVERY_ENDPOINT_PORT)),
    field(4, "addressType", Str),
]);
static LEASE_SPEC: Message = message("LeaseSpec", &[
    field(1, "holderIdentity", Str),
    field(2, "leaseDurationSeconds", I32),
    field(3, "acquireTime", MicroTime),
    field(4, "renewTime", MicroTime),
    field(5, "leaseTransitions", I32),
    field(6, "strategy", Str),
    field(7, "preferredHolder", Str),
]);
static LEASE: Message = message("Lease", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "spec", Msg(&LEASE_SPEC)),
]);
static EVENTS_EVENT_SERIES: Message = message("EventSeries", &[
    field(1, "count", I32),
    field(2, "lastObservedTime", MicroTime),
]);
static EVENTS_EVENT: Message = message("Event", &[
    field(1, "metadata", Msg(&OBJECT_META)),
    field(2, "eventTime", MicroTime),
    field(3, "series", Msg(&EVENTS_EVENT_SERIES)),
    omitempty(4, "reportingController", Str),
    omitempty(5, "reportingInstance", Str),
    omitempty(6, "action", Str),
    omitempty(7, "reason", Str),
    field(8, "regarding", Msg(&OBJECT_REFERENCE)),
    field(9, "related", Msg(&OBJECT_REFERENCE)),
    omitempty(10, "note", Str),
    omitempty(11, "type", Str),
    field(12, "deprecatedSource", Msg(&EVENT_SOURCE)),
    field(13, "deprecatedFirstTimestamp", Time),
    field(14, "deprecatedLastTimestamp", Time),
    omitempty(15, "deprecatedCount", I32),
]);

/// The top-level kinds: `(apiVersion, kind, message)`.
pub(super) static ROOTS: &[(&str, &str, &Message)] = &[
    ("v1", "Namespace", &NAMESPACE),
    ("v1", "Service", &SERVICE),
    ("v1", "Endpoints", &ENDPOINTS),
    ("v1", "Pod", &POD),
    ("v1", "Binding", &BINDING),
    ("v1", "Node", &NODE),
    ("v1", "Event", &EVENT),
    ("v1", "ConfigMap", &CONFIG_MAP),
    ("v1", "Secret", &SECRET),
    ("v1", "ServiceAccount", &SERVICE_ACCOUNT),
    ("apps/v1", "Deployment", &DEPLOYMENT),
    ("apps/v1", "ReplicaSet", &REPLICA_SET),
    ("apps/v1", "ControllerRevision", &CONTROLLER_REVISION),
    ("autoscaling/v1", "Scale", &SCALE),
    ("discovery.k8s.io/v1", "EndpointSlice", &ENDPOINT_SLICE),
    ("coordination.k8s.io/v1", "Lease", &LEASE),
    ("events.k8s.io/v1", "Event", &EVENTS_EVENT),
];
