{{/* Names: every helper starts with the chart name. */}}
{{- define "socklens.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "socklens.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else if contains (include "socklens.name" .) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name (include "socklens.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "socklens.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "socklens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "socklens.agentSelector" -}}
app.kubernetes.io/name: {{ include "socklens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end }}

{{- define "socklens.operatorSelector" -}}
app.kubernetes.io/name: {{ include "socklens.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
Pod template labels: the chart's labels (so `kubectl get pods -l app.kubernetes.io/version=…`
and every label-based tool see pods like the objects that made them), the component, then
the user's podLabels. The selector stays the three stable labels above.
Call with (dict "root" . "component" "agent" "podLabels" .Values.agent.podLabels).
*/}}
{{- define "socklens.podLabels" -}}
{{ include "socklens.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- with .podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "socklens.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "socklens.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The metrics port and the probes on it, shared by the agent's and the operator's container. */}}
{{- define "socklens.metricsContainer" -}}
ports:
  - name: metrics
    containerPort: {{ .Values.metrics.port }}
    protocol: TCP
{{- if .Values.metrics.probes }}
# /healthz answers while the process does; /readyz once the watches have listed (the
# operator: also while a standby waits for the Lease, so it never blocks a rollout).
livenessProbe:
  httpGet:
    path: /healthz
    port: metrics
  periodSeconds: 20
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: metrics
  periodSeconds: 10
  timeoutSeconds: 5
{{- end }}
{{- end }}
