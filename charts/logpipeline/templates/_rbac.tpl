{{/*
The operator's permissions, one rule per API group, derived from what it really does:
- kopf: watch LogPipelines, patch them (finalizers, progress annotations) and their status, post Events;
- the handlers: server-side apply (create/patch) each child kind the builders produce, read them back
  for status and drift, delete the children it no longer wants;
- native spark-submit mode: the operator creates a Role for the Spark driver, and Kubernetes only lets
  it grant what it holds itself, so it also holds the driver's pod/service/configmap/PVC rights.
tests/unit/test_chart_rbac.py checks this list against the builders' output.
*/}}
{{- define "logpipeline.operatorRules" -}}
- apiGroups: ["logpipeline.io"]
  resources: ["logpipelines"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["logpipeline.io"]
  resources: ["logpipelines/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["configmaps", "services", "persistentvolumeclaims", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "create", "patch", "delete", "deletecollection"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["kafka.strimzi.io"]
  resources: ["kafkatopics"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["sparkoperator.k8s.io"]
  resources: ["sparkapplications"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
{{- end }}
