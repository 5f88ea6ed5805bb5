{{/* Names, labels and the parts every pod of the chart shares. */}}

{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "app.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "app.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "app.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component (api, worker, migrations): pass (list . "api"). */}}
{{- define "app.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "app.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "app.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "app.secretName" -}}
{{- .Values.existingSecret | default (include "app.fullname" .) -}}
{{- end -}}

{{/* The Secret's data: the non-empty secretEnv values; JWT_SECRET made once and kept. */}}
{{- define "app.secretData" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "app.fullname" .) -}}
{{- $kept := dict -}}
{{- if $existing }}{{ $kept = $existing.data | default dict }}{{ end -}}
{{- range $key, $value := .Values.secretEnv }}
{{- if $value }}
{{ $key }}: {{ $value | toString | b64enc | quote }}
{{- else if and (eq $key "JWT_SECRET") (hasKey $kept "JWT_SECRET") }}
{{ $key }}: {{ index $kept "JWT_SECRET" | quote }}
{{- else if eq $key "JWT_SECRET" }}
{{ $key }}: {{ randAlphaNum 64 | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Settings of every container: the ConfigMap, the Secret, and one uvicorn worker. */}}
{{- define "app.envFrom" -}}
- configMapRef:
    name: {{ include "app.fullname" . }}
- secretRef:
    name: {{ include "app.secretName" . }}
{{- end -}}

{{- define "app.podSecurity" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* Writable /tmp on a read-only root filesystem. */}}
{{- define "app.tmpVolume" -}}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end -}}

{{- define "app.tmpMount" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}

{{/* Prefer spreading a component's pods over nodes. */}}
{{- define "app.antiAffinity" -}}
{{- $root := index . 0 -}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "app.selectorLabels" . | nindent 14 }}
{{- end -}}
