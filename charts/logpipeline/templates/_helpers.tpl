{{/*
Names, labels and small pieces shared by every template of the chart.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "logpipeline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The fully qualified app name: fullnameOverride, else "<release>-<chart>" (just "<release>" when the
release name already contains the chart name). Truncated to 63 characters (DNS label limit).
*/}}
{{- define "logpipeline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* "<chart>-<version>" for the helm.sh/chart label. */}}
{{- define "logpipeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the release. */}}
{{- define "logpipeline.labels" -}}
helm.sh/chart: {{ include "logpipeline.chart" . }}
{{ include "logpipeline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: logpipeline
{{- end }}

{{/*
The immutable subset used in selectors. The component keeps the operator's selector apart from the
pods of a pipeline that happens to share the release's name (those carry name=logpipeline too).
*/}}
{{- define "logpipeline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logpipeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "logpipeline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "logpipeline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The operator image reference; the tag defaults to the chart's appVersion. */}}
{{- define "logpipeline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag | toString) }}
{{- end }}

{{/*
The namespaces the operator watches, comma-separated: operator.watchNamespaces, else the release's own; empty when
operator.clusterWide (every namespace).
*/}}
{{- define "logpipeline.watchNamespaces" -}}
{{- if not .Values.operator.clusterWide }}
{{- default (list .Release.Namespace) .Values.operator.watchNamespaces | join "," }}
{{- end }}
{{- end }}

{{/*
The arguments of `python -m logpipeline_operator` (kopf, standalone, JSON logs): the liveness endpoint
and either --all-namespaces or one --namespace=<name> per watched namespace.
*/}}
{{- define "logpipeline.operatorArgs" -}}
- --liveness=http://0.0.0.0:{{ .Values.operator.healthPort }}/healthz
{{- $watch := include "logpipeline.watchNamespaces" . }}
{{- if $watch }}
{{- range splitList "," $watch }}
- --namespace={{ . }}
{{- end }}
{{- else }}
- --all-namespaces
{{- end }}
{{- if .Values.operator.verbose }}
- --verbose
{{- end }}
{{- end }}
