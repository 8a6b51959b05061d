{{/*
The operator's permissions, in three ClusterRoles that are bound only where they are needed:
- "<fullname>" (pipeline rules): what kopf does with LogPipelines (list, watch, patch; their status; "update" on
  logpipelines/finalizers, which children's blockOwnerDeletion needs where the OwnerReferencesPermissionEnforcement
  admission plugin runs, e.g. OpenShift), Events, and the RoleBindings it creates (the Spark driver's, and in
  cluster-wide mode its own): "bind" on the named ClusterRoles only, never their rights;
- "<fullname>-children": the kinds of a pipeline's children (list to find and prune them; create and patch, as
  server-side apply asks; delete). Bound in each watched namespace by the chart, or, in cluster-wide mode, by the
  operator itself in a namespace when a LogPipeline appears there;
- "logpipeline-spark-driver": what a Spark driver does with its executors. The operator binds each pipeline's
  driver ServiceAccount to it in that pipeline's namespace; it never holds these rights itself.
tests/integration/test_chart.py checks these lists; tests/e2e/test_chart_install.py runs the operator with exactly
these rights on a real control plane and asks the API server what it may and may not do.
*/}}
{{- define "logpipeline.pipelineRules" -}}
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
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["rolebindings"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["clusterroles"]
  verbs: ["bind"]
  resourceNames:
    - logpipeline-spark-driver
    {{- if .Values.operator.clusterWide }}
    - {{ include "logpipeline.fullname" . }}-children
    {{- end }}
{{- end }}

{{- define "logpipeline.childrenRules" -}}
- apiGroups: [""]
  resources: ["configmaps", "services", "persistentvolumeclaims", "serviceaccounts"]
  verbs: ["list", "create", "patch", "delete"]
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
  resources: ["ingresses", "networkpolicies"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["kafka.strimzi.io"]
  resources: ["kafkatopics", "kafkausers"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["sparkoperator.k8s.io"]
  resources: ["sparkapplications"]
  verbs: ["list", "create", "patch", "delete"]
- apiGroups: ["batch"]
  resources: ["cronjobs"]
  verbs: ["list", "create", "patch", "delete"]
{{- end }}

{{- define "logpipeline.sparkDriverRules" -}}
- apiGroups: [""]
  resources: ["pods", "services", "configmaps", "persistentvolumeclaims"]
  verbs: ["create", "get", "list", "watch", "delete", "deletecollection", "patch"]
{{- end }}
