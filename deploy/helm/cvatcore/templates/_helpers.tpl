{{- define "cvatcore.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cvatcore.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "cvatcore.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* A flat map as a TOML inline table: { a = "x", b = ["y"] } */}}
{{- define "cvatcore.inlineTable" -}}
{{- $items := list -}}
{{- range $key, $value := . -}}
{{- $items = append $items (printf "%s = %s" $key (toJson $value)) -}}
{{- end -}}
{ {{ join ", " $items }} }
{{- end -}}

{{/* Environment every cvatcore container gets: settings file, database, keys, secrets. */}}
{{- define "cvatcore.env" -}}
- name: CVATCORE_CONFIG
  value: /etc/cvatcore/cvatcore.toml
- name: CVATCORE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.urlKey }}
{{- range $index, $key := .Values.secretKeys.keys }}
- name: CVATCORE_SECRET_KEY_{{ $index }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secretKeys.existingSecret }}
      key: {{ $key }}
{{- end }}
{{- if .Values.ldap.enabled }}
- name: LDAP_BIND_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.ldap.bindPasswordSecret }}
      key: {{ .Values.ldap.bindPasswordKey }}
{{- end }}
{{- if .Values.clickhouse.enabled }}
- name: CLICKHOUSE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.clickhouse.passwordSecret }}
      key: {{ .Values.clickhouse.passwordKey }}
{{- end }}
{{- end -}}

{{- define "cvatcore.envFrom" -}}
{{- if .Values.media.credentialsSecret }}
envFrom:
  - secretRef:
      name: {{ .Values.media.credentialsSecret }}
{{- end }}
{{- end -}}

{{- define "cvatcore.volumes" -}}
- name: config
  configMap:
    name: {{ include "cvatcore.fullname" . }}
{{- if eq .Values.media.provider "local" }}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "cvatcore.fullname" . }}-data
{{- else }}
- name: data
  emptyDir: {}
{{- end }}
{{- end -}}

{{- define "cvatcore.volumeMounts" -}}
- name: config
  mountPath: /etc/cvatcore
  readOnly: true
- name: data
  mountPath: /var/lib/cvatcore
{{- end -}}
