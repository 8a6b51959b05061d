{{/*
The operator's permissions, derived from what it really does (tests/integration/test_chart.py
checks this list against the builders' output, both ways: nothing missing, nothing extra):
- kopf: list and watch LogPipelines, patch them (finalizer, progress annotations) and their status,
  post Events; it discovers the CRD (rbac.yaml, cluster-scoped);
- children set blockOwnerDeletion on their owner reference: where the OwnerReferencesPermissionEnforcement
  admission plugin runs (OpenShift), that needs "update" on logpipelines/finalizers;
- the handlers: list each child kind the builders produce (to find and prune children), server-side
  apply them (a PATCH; the API server also asks for "create" when the object does not exist yet) and
  delete the ones the spec no longer wants;
- the Spark driver's Role that the operator creates: Kubernetes only lets a subject grant what it
  holds itself, so the operator also holds the driver's pod, service, configmap and PVC rights.
*/}}
{{- define "logpipeline.operatorRules" -}}
- apiGroups: ["logpipeline.io"]
  resources: ["logpipelines"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["logpipeline.io"]
  resources: ["logpipelines/status"]
  verbs: ["patch"]
- apiGroups: ["logpipeline.io"]
  resources: ["logpipelines/finalizers"]
  verbs: ["update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["serviceaccounts"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["configmaps", "services", "persistentvolumeclaims", "pods"]
  verbs: ["create", "get", "list", "watch", "patch", "delete", "deletecollection"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["kafka.strimzi.io"]
  resources: ["kafkatopics"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["sparkoperator.k8s.io"]
  resources: ["sparkapplications"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["list", "create", "patch", "delete"]
{{- end }}
