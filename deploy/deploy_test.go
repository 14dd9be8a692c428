package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/latchauth/latch/mail"
	"github.com/latchauth/latch/tokens"
)

// The checks here run offline: no cluster, no Docker engine. They decode every file into the
// types its consumer uses (Kubernetes' own API types, strictly, so that a misspelt field is an
// error rather than silently ignored) and assert what a broken deployment would get wrong.

// latchVariables reads the settings table of cmd/latch/config.go: every environment variable
// latch reads, and the secret ones, which may also come from <VAR>_FILE.
func latchVariables(t *testing.T) (env map[string]bool, secret map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("..", "cmd", "latch", "config.go"), nil, 0)
	if err != nil {
		t.Fatalf("parse cmd/latch/config.go: %v", err)
	}
	env, secret = map[string]bool{}, map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		name, isSecret := "", false
		for _, e := range lit.Elts {
			kv, ok := e.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, ok := kv.Key.(*ast.Ident)
			if !ok {
				continue
			}
			switch key.Name {
			case "env":
				if s, ok := kv.Value.(*ast.BasicLit); ok && s.Kind == token.STRING {
					name, _ = strconv.Unquote(s.Value)
				}
			case "secret":
				if v, ok := kv.Value.(*ast.Ident); ok && v.Name == "true" {
					isSecret = true
				}
			}
		}
		if strings.HasPrefix(name, "LATCH_") {
			env[name] = true
			secret[name] = secret[name] || isSecret
		}
		return true
	})
	// A table this small means it moved or was rewritten: the check below would be hollow.
	if len(env) < 20 || !env["LATCH_ADDR"] || !secret["LATCH_SECRET_KEY"] {
		t.Fatalf("found %d settings in cmd/latch/config.go (LATCH_ADDR %v, LATCH_SECRET_KEY secret %v): has the settings table moved?",
			len(env), env["LATCH_ADDR"], secret["LATCH_SECRET_KEY"])
	}
	return env, secret
}

// knownVariables is every variable a deployment file may set: latch's settings, the _FILE
// variants of its secret ones, and LATCH_CONFIG.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	env, secret := latchVariables(t)
	known := map[string]bool{"LATCH_CONFIG": true}
	for name := range env {
		known[name] = true
		if secret[name] {
			known[name+"_FILE"] = true
		}
	}
	return known
}

// manifests are the decoded files of k8s/.
type manifests struct {
	deployment   *appsv1.Deployment
	service      *corev1.Service
	configMap    *corev1.ConfigMap
	secret       *corev1.Secret
	hpa          *autoscalingv2.HorizontalPodAutoscaler
	pdb          *policyv1.PodDisruptionBudget
	netpol       *networkingv1.NetworkPolicy
	files        []string // the manifest files, by base name
	kustomizeRes []string // resources listed in kustomization.yaml
}

// splitDocuments splits multi-document YAML on "---" lines, dropping empty documents.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	flush := func() {
		if strings.TrimSpace(stripComments(cur.String())) != "" {
			docs = append(docs, bytes.Clone(cur.Bytes()))
		}
		cur.Reset()
	}
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimRight(line, " \t\r\n") == "---" {
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// decodeStrict decodes YAML into v as the API server's strict field validation does: a
// duplicate key, an unknown field or a field in the wrong case is an error. (encoding/json,
// even with DisallowUnknownFields, takes readOnlyRootFileSystem for readOnlyRootFilesystem.)
func decodeStrict(data []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return err
	}
	strictErrs, err := sigsjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// decodeObject decodes one document strictly into the API type its apiVersion and kind name.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion/kind: %w", err)
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "v1 ConfigMap":
		obj = &corev1.ConfigMap{}
	case "v1 Secret":
		obj = &corev1.Secret{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "policy/v1 PodDisruptionBudget":
		obj = &policyv1.PodDisruptionBudget{}
	case "networking.k8s.io/v1 NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	default:
		return nil, fmt.Errorf("unexpected apiVersion %q kind %q", tm.APIVersion, tm.Kind)
	}
	if err := decodeStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s %s: %w", tm.APIVersion, tm.Kind, err)
	}
	return obj, nil
}

// kustomization is the part of kustomization.yaml these manifests use; decoding is strict,
// so anything else in the file is an error until it is added here.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

func loadManifests(t *testing.T) manifests {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("k8s", "*.yaml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no manifests in k8s/: %v", err)
	}
	var m manifests
	seen := map[string]string{}
	once := func(kind, path string) {
		if prev, dup := seen[kind]; dup {
			t.Fatalf("%s: a second %s (the first is in %s)", path, kind, prev)
		}
		seen[kind] = path
	}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(path) == "kustomization.yaml" {
			var k kustomization
			if err := decodeStrict(data, &k); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
				t.Fatalf("%s: apiVersion %q kind %q", path, k.APIVersion, k.Kind)
			}
			m.kustomizeRes = k.Resources
			continue
		}
		m.files = append(m.files, filepath.Base(path))
		docs := splitDocuments(data)
		if len(docs) == 0 {
			t.Fatalf("%s: no document", path)
		}
		for i, doc := range docs {
			obj, err := decodeObject(doc)
			if err != nil {
				t.Fatalf("%s, document %d: %v", path, i+1, err)
			}
			switch o := obj.(type) {
			case *appsv1.Deployment:
				once("Deployment", path)
				m.deployment = o
			case *corev1.Service:
				once("Service", path)
				m.service = o
			case *corev1.ConfigMap:
				once("ConfigMap", path)
				m.configMap = o
			case *corev1.Secret:
				once("Secret", path)
				m.secret = o
			case *autoscalingv2.HorizontalPodAutoscaler:
				once("HorizontalPodAutoscaler", path)
				m.hpa = o
			case *policyv1.PodDisruptionBudget:
				once("PodDisruptionBudget", path)
				m.pdb = o
			case *networkingv1.NetworkPolicy:
				once("NetworkPolicy", path)
				m.netpol = o
			}
		}
	}
	for kind, got := range map[string]bool{
		"Deployment": m.deployment != nil, "Service": m.service != nil, "ConfigMap": m.configMap != nil,
		"Secret": m.secret != nil, "HorizontalPodAutoscaler": m.hpa != nil, "PodDisruptionBudget": m.pdb != nil,
		"NetworkPolicy": m.netpol != nil,
	} {
		if !got {
			t.Fatalf("k8s/ has no %s", kind)
		}
	}
	return m
}

// container returns the Deployment's latch container.
func (m manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := m.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "latch" {
		t.Fatalf("the Deployment should run one container named latch, has %d", len(cs))
	}
	return cs[0]
}

// The decoding is strict: a misspelt field fails rather than vanishing, or every other check
// here could pass on a manifest Kubernetes reads differently.
func TestStrictDecodingRejectsUnknownFields(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("k8s", "deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeObject(data); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
	for _, tc := range []struct{ from, to string }{
		{"readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"},
		{"replicas: 2", "replicas: 2\n  replica: 2"},
		{"readinessProbe:", "readynessProbe:"},
	} {
		if !bytes.Contains(data, []byte(tc.from)) {
			t.Fatalf("deployment.yaml no longer contains %q", tc.from)
		}
		bad := bytes.Replace(data, []byte(tc.from), []byte(tc.to), 1)
		if _, err := decodeObject(bad); err == nil {
			t.Errorf("%q → %q decoded without an error", tc.from, tc.to)
		}
	}

	compose, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := decodeStrict(compose, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	bad := bytes.Replace(compose, []byte("read_only: true"), []byte("readonly: true"), 1)
	if bytes.Equal(bad, compose) {
		t.Fatal("docker-compose.yml no longer contains read_only: true")
	}
	if err := decodeStrict(bad, &cf); err == nil {
		t.Error("a misspelt compose key decoded without an error")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	m := loadManifests(t)
	got, want := slices.Sorted(slices.Values(m.kustomizeRes)), slices.Sorted(slices.Values(m.files))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources = %v, want the manifests %v", got, want)
	}
}

// portOf returns the port of a host:port listen address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("listen address %q: %v", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 {
		t.Fatalf("listen address %q: port %q", addr, p)
	}
	return n
}

// listensOnAllInterfaces: latch's default (localhost) is unreachable from outside a container.
func listensOnAllInterfaces(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && (host == "" || host == "0.0.0.0" || host == "::")
}

func TestDeploymentProbesAndPorts(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	cfg := m.configMap.Data

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	addr, metricsAddr := cfg["LATCH_ADDR"], cfg["LATCH_METRICS_ADDR"]
	if !listensOnAllInterfaces(addr) || !listensOnAllInterfaces(metricsAddr) {
		t.Fatalf("LATCH_ADDR %q and LATCH_METRICS_ADDR %q must listen on every interface of the pod", addr, metricsAddr)
	}
	if got, want := ports["http"], int32(portOf(t, addr)); got != want {
		t.Errorf("container port http = %d, LATCH_ADDR listens on %d", got, want)
	}
	if got, want := ports["metrics"], int32(portOf(t, metricsAddr)); got != want {
		t.Errorf("container port metrics = %d, LATCH_METRICS_ADDR listens on %d", got, want)
	}

	checkProbe := func(name string, p *corev1.Probe, path string) {
		t.Helper()
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s probe: want an HTTP GET of %s", name, path)
			return
		}
		if p.HTTPGet.Path != path {
			t.Errorf("%s probe path = %q, want %q", name, p.HTTPGet.Path, path)
		}
		port := p.HTTPGet.Port
		if port.String() != "http" && port.IntValue() != int(ports["http"]) {
			t.Errorf("%s probe port = %s, want the http port", name, port.String())
		}
		if p.HTTPGet.Scheme != "" && p.HTTPGet.Scheme != corev1.URISchemeHTTP {
			t.Errorf("%s probe scheme = %s; latch serves plain HTTP here", name, p.HTTPGet.Scheme)
		}
	}
	checkProbe("readiness", c.ReadinessProbe, "/readyz")
	checkProbe("liveness", c.LivenessProbe, "/healthz")
	checkProbe("startup", c.StartupProbe, "/healthz")
	// The liveness probe must not restart a pod because MongoDB or Redis is away: that is
	// readiness's business (it takes the pod out of the Service until storage is back).
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/readyz" {
		t.Error("liveness must not probe /readyz")
	}
	if s := c.StartupProbe; s != nil && s.PeriodSeconds*s.FailureThreshold < 30 {
		t.Errorf("startup probe allows %d s; a first start (indexes, signing key, rule workers) needs more",
			s.PeriodSeconds*s.FailureThreshold)
	}

	d := m.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Error("a rolling update should never take a serving pod away before its replacement is ready (maxUnavailable 0)")
	}
	if len(c.Command) != 0 {
		t.Errorf("command %v replaces the image's entrypoint", c.Command)
	}
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("args = %v, want [serve]", c.Args)
	}
	if strings.HasSuffix(c.Image, ":latest") || !strings.Contains(c.Image, ":") {
		t.Errorf("image %q: want a fixed tag", c.Image)
	}
	// latch drains in-flight requests for 20 s after SIGTERM (cmd/latch shutdownGrace),
	// after the preStop pause.
	grace := int64(30)
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = *g
	}
	var preStop int64
	if l := c.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
		preStop = l.PreStop.Sleep.Seconds
	}
	if grace < preStop+20 {
		t.Errorf("terminationGracePeriodSeconds %d < preStop %d s + latch's 20 s drain", grace, preStop)
	}
}

func TestDeploymentSecurity(t *testing.T) {
	m := loadManifests(t)
	pod := m.deployment.Spec.Template.Spec
	c := m.container(t)

	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot must be true")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("pod securityContext.runAsUser must name a non-root uid")
	} else if uid := dockerfileUser(t); *psc.RunAsUser != uid {
		t.Errorf("runAsUser %d differs from the image's USER %d (the data dir belongs to it)", *psc.RunAsUser, uid)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile must be RuntimeDefault")
	}

	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("the container has no securityContext")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem must be true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation must be false")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("the container must not be privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0:
		t.Errorf("capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("latch never calls the Kubernetes API: automountServiceAccountToken should be false")
	}
	// A Service named latch would inject LATCH_SERVICE_HOST, LATCH_PORT, … beside latch's
	// own settings.
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks should be false")
	}

	// With a read-only root, latch can write only where a volume is mounted: /tmp (SQLite's
	// temporary files) and its data directory.
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	mounted := map[string]corev1.VolumeMount{}
	for _, vm := range c.VolumeMounts {
		if _, ok := volumes[vm.Name]; !ok {
			t.Errorf("volumeMount %s names no volume", vm.Name)
		}
		mounted[vm.MountPath] = vm
	}
	dataDir := m.configMap.Data["LATCH_DATA_DIR"]
	for _, path := range []string{"/tmp", dataDir} {
		vm, ok := mounted[path]
		switch {
		case !ok:
			t.Errorf("nothing is mounted at %s, which latch writes to", path)
		case vm.ReadOnly:
			t.Errorf("%s is mounted read-only", path)
		case volumes[vm.Name].EmptyDir == nil:
			t.Errorf("%s: want an emptyDir (the pods are stateless with LATCH_STORE=mongo)", path)
		}
	}
}

func TestDeploymentResources(t *testing.T) {
	m := loadManifests(t)
	c := m.container(t)
	req, lim := c.Resources.Requests, c.Resources.Limits
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := req[name]; !ok || q.IsZero() {
			t.Errorf("no %s request (the HPA's utilization is relative to it)", name)
		}
	}
	memLimit, ok := lim[corev1.ResourceMemory]
	if !ok {
		t.Fatal("no memory limit")
	}
	// Every rule worker may grow to LATCH_RULES_WORKER_MEMORY_MIB before it is killed; the
	// limit must hold them all and the server, or the pod is OOM-killed instead of a worker.
	cfg := m.configMap.Data
	workers, err1 := strconv.Atoi(cfg["LATCH_RULES_WORKERS"])
	perWorker, err2 := strconv.Atoi(cfg["LATCH_RULES_WORKER_MEMORY_MIB"])
	if err1 != nil || err2 != nil || workers <= 0 {
		t.Fatalf("LATCH_RULES_WORKERS %q and LATCH_RULES_WORKER_MEMORY_MIB %q should be set (the default follows the node's CPUs, not the pod's limit)",
			cfg["LATCH_RULES_WORKERS"], cfg["LATCH_RULES_WORKER_MEMORY_MIB"])
	}
	const serverMiB = 128
	need := resource.MustParse(strconv.Itoa(workers*perWorker+serverMiB) + "Mi")
	if memLimit.Cmp(need) < 0 {
		t.Errorf("memory limit %s < %d workers × %d MiB + %d MiB for the server", memLimit.String(), workers, perWorker, serverMiB)
	}
	if r, ok := req[corev1.ResourceMemory]; ok && r.Cmp(memLimit) > 0 {
		t.Errorf("memory request %s above the limit %s", r.String(), memLimit.String())
	}
}

// selectorMatches says whether sel selects a pod with these labels.
func selectorMatches(t *testing.T, sel *metav1.LabelSelector, podLabels map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("label selector %v: %v", sel, err)
	}
	return !s.Empty() && s.Matches(labels.Set(podLabels))
}

func TestSelectorsAndReferencesMatch(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	podLabels := d.Spec.Template.Labels
	if !selectorMatches(t, d.Spec.Selector, podLabels) {
		t.Errorf("the Deployment's selector %v does not select its own pods %v", d.Spec.Selector, podLabels)
	}
	if len(m.service.Spec.Selector) == 0 || !labels.SelectorFromSet(m.service.Spec.Selector).Matches(labels.Set(podLabels)) {
		t.Errorf("the Service's selector %v does not select the pods %v", m.service.Spec.Selector, podLabels)
	}
	if !selectorMatches(t, m.pdb.Spec.Selector, podLabels) {
		t.Errorf("the PodDisruptionBudget's selector %v does not select the pods", m.pdb.Spec.Selector)
	}
	if !selectorMatches(t, &m.netpol.Spec.PodSelector, podLabels) {
		t.Errorf("the NetworkPolicy's podSelector %v does not select the pods", m.netpol.Spec.PodSelector)
	}
	spread := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(spread) == 0 {
		t.Error("no topologySpreadConstraints: both replicas could land on one node")
	}
	hostSpread := false
	for _, tsc := range spread {
		if !selectorMatches(t, tsc.LabelSelector, podLabels) {
			t.Errorf("topology spread over %s selects %v, not the pods", tsc.TopologyKey, tsc.LabelSelector)
		}
		hostSpread = hostSpread || tsc.TopologyKey == "kubernetes.io/hostname"
	}
	if !hostSpread {
		t.Error("no topology spread over kubernetes.io/hostname")
	}

	// The HPA scales this Deployment, and never below what the PDB must keep.
	ref := m.hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
		t.Errorf("HPA scaleTargetRef = %+v, want apps/v1 Deployment %s", ref, d.Name)
	}
	minReplicas := int32(1)
	if m.hpa.Spec.MinReplicas != nil {
		minReplicas = *m.hpa.Spec.MinReplicas
	}
	if minReplicas < 2 || m.hpa.Spec.MaxReplicas < minReplicas {
		t.Errorf("HPA replicas %d..%d: want at least 2", minReplicas, m.hpa.Spec.MaxReplicas)
	}
	cpu := false
	for _, metric := range m.hpa.Spec.Metrics {
		if metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil && metric.Resource.Name == corev1.ResourceCPU &&
			metric.Resource.Target.Type == autoscalingv2.UtilizationMetricType && metric.Resource.Target.AverageUtilization != nil {
			cpu = true
		}
	}
	if !cpu {
		t.Error("the HPA should scale on CPU utilization (logins are bcrypt-bound)")
	}
	switch pdb := m.pdb.Spec; {
	case pdb.MinAvailable != nil && pdb.MinAvailable.IntValue() >= int(minReplicas):
		t.Errorf("PDB minAvailable %s ≥ the minimum of %d replicas: no node could ever be drained", pdb.MinAvailable.String(), minReplicas)
	case pdb.MinAvailable == nil && pdb.MaxUnavailable == nil:
		t.Error("the PDB sets neither minAvailable nor maxUnavailable")
	}

	// Service and NetworkPolicy ports name the container's ports.
	names := map[string]bool{}
	for _, p := range m.container(t).Ports {
		names[p.Name] = true
	}
	for _, p := range m.service.Spec.Ports {
		if p.TargetPort.String() == "" || !names[p.TargetPort.String()] {
			t.Errorf("Service port %s targets %q, not a named container port", p.Name, p.TargetPort.String())
		}
	}
	if !slices.ContainsFunc(m.service.Spec.Ports, func(p corev1.ServicePort) bool { return p.TargetPort.String() == "http" }) {
		t.Error("the Service does not expose the http port")
	}
	metricsOpen := false
	for _, rule := range m.netpol.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil || !names[p.Port.String()] {
				t.Errorf("NetworkPolicy port %v is not a named container port", p.Port)
				continue
			}
			if p.Port.String() == "metrics" && len(rule.From) == 0 {
				metricsOpen = true
			}
		}
	}
	if metricsOpen {
		t.Error("the NetworkPolicy lets anyone reach /metrics")
	}
}

// envOf returns the Deployment's environment: the ConfigMap's keys (envFrom) and env entries.
func (m manifests) envOf(t *testing.T) (plain map[string]string, fromSecret map[string]corev1.SecretKeySelector) {
	t.Helper()
	c := m.container(t)
	plain, fromSecret = map[string]string{}, map[string]corev1.SecretKeySelector{}
	for _, src := range c.EnvFrom {
		switch {
		case src.ConfigMapRef != nil && src.ConfigMapRef.Name == m.configMap.Name && src.Prefix == "":
			for k, v := range m.configMap.Data {
				plain[k] = v
			}
		default:
			t.Errorf("envFrom %+v: only the ConfigMap %s is expected", src, m.configMap.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			plain[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			fromSecret[e.Name] = *e.ValueFrom.SecretKeyRef
		default:
			t.Errorf("env %s: unexpected source %+v", e.Name, e.ValueFrom)
		}
	}
	return plain, fromSecret
}

func TestEveryVariableIsOneLatchReads(t *testing.T) {
	known := knownVariables(t)
	check := func(where string, names []string) {
		t.Helper()
		if len(names) == 0 {
			t.Errorf("%s: no variables found", where)
		}
		for _, name := range names {
			if !known[name] {
				t.Errorf("%s sets %s, which latch does not read", where, name)
			}
		}
	}

	m := loadManifests(t)
	var k8sNames []string
	for k := range m.configMap.Data {
		k8sNames = append(k8sNames, k)
	}
	for _, e := range m.container(t).Env {
		k8sNames = append(k8sNames, e.Name)
	}
	check("k8s", k8sNames)

	cf := loadCompose(t)
	envFile := readEnvFile(t, "latch.env")
	for _, name := range latchServices(cf) {
		svc := cf.Services[name]
		var names []string
		for k := range svc.Environment {
			names = append(names, k)
		}
		for _, f := range svc.EnvFile {
			if f != "latch.env" {
				t.Errorf("compose %s reads env file %s; only latch.env is checked", name, f)
			}
		}
		for k := range envFile {
			names = append(names, k)
		}
		check("compose "+name, names)
	}

	var dockerNames []string
	for _, st := range parseDockerfile(t).final().instrs {
		if st.cmd == "ENV" {
			for k := range parseEnvInstruction(t, st.args) {
				dockerNames = append(dockerNames, k)
			}
		}
	}
	check("Dockerfile", dockerNames)
}

// A variable named in the Dockerfile's ENV could carry a leftover secret into every image.
func TestNoSecretInConfigMapOrImage(t *testing.T) {
	_, secret := latchVariables(t)
	m := loadManifests(t)
	isSecret := func(name string) bool {
		name = strings.TrimSuffix(name, "_FILE")
		return secret[name] || name == "LATCH_MONGO_URI" || name == "LATCH_REDIS_URL"
	}
	for k := range m.configMap.Data {
		if isSecret(k) {
			t.Errorf("ConfigMap holds %s: secrets belong in the Secret", k)
		}
	}
	for k, v := range readEnvFile(t, "latch.env") {
		switch {
		case k == "LATCH_MONGO_URI" || k == "LATCH_REDIS_URL":
			// Without credentials they are configuration; with them, secrets.
			u, err := url.Parse(v)
			if err != nil {
				t.Errorf("latch.env %s: %v", k, err)
			} else if _, hasPassword := u.User.Password(); hasPassword {
				t.Errorf("latch.env %s carries a password: use a compose secret", k)
			}
		case isSecret(k):
			t.Errorf("latch.env holds %s: use a compose secret", k)
		}
	}
	df := parseDockerfile(t)
	for _, stage := range df.stages {
		for _, st := range stage.instrs {
			if st.cmd != "ENV" && st.cmd != "ARG" {
				continue
			}
			for k := range parseEnvInstruction(t, st.args) {
				if isSecret(k) || regexp.MustCompile(`(?i)secret|password|token|passwd|_key$`).MatchString(k) {
					t.Errorf("Dockerfile %s %s: no secret may be baked into the image", st.cmd, k)
				}
			}
		}
	}
}

func TestSecretReferencesExist(t *testing.T) {
	m := loadManifests(t)
	secretKeys := map[string]bool{}
	for k := range m.secret.StringData {
		secretKeys[k] = true
	}
	for k := range m.secret.Data {
		secretKeys[k] = true
	}
	plainEnv, fromSecret := m.envOf(t)
	// Every secret setting latch has that the pod uses comes from the Secret.
	_, secretSetting := latchVariables(t)
	for name, value := range plainEnv {
		if secretSetting[name] {
			t.Errorf("%s = %q is a plain value; secrets come from the Secret (%s_FILE)", name, value, name)
		}
	}
	for name, ref := range fromSecret {
		if ref.Name != m.secret.Name || !secretKeys[ref.Key] {
			t.Errorf("env %s reads secret %s key %s, which secret.yaml does not have", name, ref.Name, ref.Key)
		}
		if ref.Optional != nil && *ref.Optional {
			t.Errorf("env %s: an optional secret would let latch start without it", name)
		}
	}

	// Files of secret volumes: every item's key exists, and every *_FILE variable points at
	// one of them.
	pod := m.deployment.Spec.Template.Spec
	c := m.container(t)
	files := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret == nil {
			continue
		}
		if v.Secret.SecretName != m.secret.Name {
			t.Errorf("volume %s mounts secret %s, not %s", v.Name, v.Secret.SecretName, m.secret.Name)
		}
		// Read-only, and for the pod's user and group only (0440 in YAML is octal; a
		// decimal 440 would be 0670).
		if mode := v.Secret.DefaultMode; mode == nil {
			t.Errorf("volume %s: no defaultMode (Kubernetes' default is 0644)", v.Name)
		} else if *mode&0o227 != 0 {
			t.Errorf("volume %s: defaultMode %#o, want no write bit and nothing for others (0440)", v.Name, *mode)
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name != v.Name {
				continue
			}
			if !vm.ReadOnly {
				t.Errorf("secret volume %s is mounted writable", v.Name)
			}
			if len(v.Secret.Items) == 0 {
				for k := range secretKeys {
					files[filepath.Join(vm.MountPath, k)] = true
				}
			}
			for _, item := range v.Secret.Items {
				if !secretKeys[item.Key] {
					t.Errorf("volume %s projects key %s, which secret.yaml does not have", v.Name, item.Key)
				}
				files[filepath.Join(vm.MountPath, item.Path)] = true
			}
		}
	}
	plain, _ := m.envOf(t)
	fileVars := 0
	for name, value := range plain {
		if strings.HasSuffix(name, "_FILE") {
			fileVars++
			if !files[value] {
				t.Errorf("%s = %s, which no secret volume provides (files: %v)", name, value, slices.Sorted(maps.Keys(files)))
			}
		}
	}
	if fileVars == 0 {
		t.Error("no secret is read from a file")
	}
	// Every secret key is used somewhere.
	used := map[string]bool{}
	for _, ref := range fromSecret {
		used[ref.Key] = true
	}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			for _, item := range v.Secret.Items {
				used[item.Key] = true
			}
		}
	}
	for k := range secretKeys {
		if !used[k] {
			t.Errorf("secret.yaml key %s is used by nothing", k)
		}
	}
}

// The Secret ships placeholders only, and ones latch refuses, so that applying it unedited
// fails at start instead of running with a published key.
func TestSecretHoldsOnlyPlaceholders(t *testing.T) {
	m := loadManifests(t)
	if len(m.secret.Data) != 0 {
		t.Error("secret.yaml has data: (base64) values; use stringData placeholders")
	}
	for k, v := range m.secret.StringData {
		if !strings.Contains(v, "REPLACE_ME") {
			t.Errorf("secret.yaml %s = %q: not marked as a placeholder (REPLACE_ME)", k, v)
		}
	}
	if kek, ok := m.secret.StringData["secret-key"]; !ok {
		t.Error("secret.yaml has no secret-key")
	} else if _, err := tokens.ParseKEK(kek); err == nil {
		t.Error("the placeholder secret-key is a valid key-encryption key: latch would start with it")
	}
	if smtpURL, ok := m.secret.StringData["smtp-url"]; ok {
		from := m.configMap.Data["LATCH_MAIL_FROM"]
		if _, err := mail.NewSMTP(mail.SMTPConfig{URL: "smtps://user:password@smtp.example.com:465", From: from}); err != nil {
			t.Errorf("LATCH_MAIL_FROM %q with a real mail server URL: %v", from, err)
		}
		if _, err := mail.NewSMTP(mail.SMTPConfig{URL: smtpURL, From: from}); err == nil {
			t.Error("the placeholder smtp-url is one latch accepts")
		}
	}
	if s, ok := m.secret.StringData["bootstrap-client-secret"]; !ok {
		t.Error("secret.yaml has no bootstrap-client-secret")
	} else if len(s) >= 32 {
		t.Error("the placeholder bootstrap-client-secret is long enough for latch to accept it")
	}
}

// Several instances must share what latch would otherwise generate per instance: the
// key-encryption key (each would seal its signing keys under its own) and the bootstrap
// client. And they need the shared stores.
func TestInstancesShareKeysAndStores(t *testing.T) {
	check := func(where string, env map[string]string) {
		t.Helper()
		has := func(name string) bool {
			_, plain := env[name]
			_, file := env[name+"_FILE"]
			return plain || file
		}
		if !has("LATCH_SECRET_KEY") {
			t.Errorf("%s: no LATCH_SECRET_KEY(_FILE): every instance would generate a key of its own", where)
		}
		if env["LATCH_BOOTSTRAP_CLIENT_ID"] == "" || !has("LATCH_BOOTSTRAP_CLIENT_SECRET") {
			t.Errorf("%s: the bootstrap client's id and secret must be fixed", where)
		}
		if env["LATCH_STORE"] != "mongo" || !has("LATCH_MONGO_URI") || !has("LATCH_REDIS_URL") {
			t.Errorf("%s: several instances need LATCH_STORE=mongo with LATCH_MONGO_URI and LATCH_REDIS_URL", where)
		}
		if u, err := url.Parse(env["LATCH_ISSUER"]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || !strings.HasSuffix(u.Path, "/") {
			t.Errorf("%s: LATCH_ISSUER %q should be the public URL, ending in /", where, env["LATCH_ISSUER"])
		}
	}
	m := loadManifests(t)
	plain, fromSecret := m.envOf(t)
	env := map[string]string{}
	for k, v := range plain {
		env[k] = v
	}
	for k := range fromSecret {
		env[k] = "(secret)"
	}
	check("k8s", env)
	if mongo := m.secret.StringData["mongo-uri"]; !strings.Contains(mongo, "replicaSet=") {
		t.Errorf("secret.yaml mongo-uri %q names no replica set", mongo)
	}

	cf := loadCompose(t)
	for _, name := range latchServices(cf) {
		env := readEnvFile(t, "latch.env")
		for k, v := range cf.Services[name].Environment {
			env[k] = v
		}
		check("compose "+name, env)
	}
}

// readEnvFile reads a compose env file: KEY=VALUE lines, # comments.
func readEnvFile(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			t.Fatalf("%s:%d: want KEY=VALUE, got %q", name, n, line)
		}
		if _, dup := env[k]; dup {
			t.Errorf("%s:%d: %s set twice", name, n, k)
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// composeFile is what docker-compose.yml uses of the compose format. Decoding is strict: a
// key this struct lacks (a typo, or a new setting) fails the test until it is added here.
type composeFile struct {
	Name     string                    `json:"name"`
	XLatch   map[string]any            `json:"x-latch"`
	Services map[string]composeService `json:"services"`
	Secrets  map[string]struct {
		File string `json:"file"`
	} `json:"secrets"`
	Volumes  map[string]any `json:"volumes"`
	Networks map[string]struct {
		Ipam struct {
			Config []struct {
				Subnet string `json:"subnet"`
			} `json:"config"`
		} `json:"ipam"`
	} `json:"networks"`
}

type composeService struct {
	Build *struct {
		Context    string `json:"context"`
		Dockerfile string `json:"dockerfile"`
	} `json:"build"`
	Image           string            `json:"image"`
	Command         []string          `json:"command"`
	EnvFile         []string          `json:"env_file"`
	Environment     map[string]string `json:"environment"`
	Secrets         []string          `json:"secrets"`
	ReadOnly        bool              `json:"read_only"`
	Tmpfs           []string          `json:"tmpfs"`
	CapDrop         []string          `json:"cap_drop"`
	SecurityOpt     []string          `json:"security_opt"`
	Expose          []string          `json:"expose"`
	Ports           []string          `json:"ports"`
	Restart         string            `json:"restart"`
	StopGracePeriod string            `json:"stop_grace_period"`
	DependsOn       map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
	Volumes  []string `json:"volumes"`
	Networks map[string]struct {
		IPv4Address string `json:"ipv4_address"`
	} `json:"networks"`
	Healthcheck *struct {
		Test        []string `json:"test"`
		Interval    string   `json:"interval"`
		Timeout     string   `json:"timeout"`
		Retries     int      `json:"retries"`
		StartPeriod string   `json:"start_period"`
	} `json:"healthcheck"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	data, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := decodeStrict(data, &cf); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return cf
}

// latchServices are the compose services built from deploy/Dockerfile.
func latchServices(cf composeFile) []string {
	var names []string
	for name, svc := range cf.Services {
		if svc.Build != nil && svc.Build.Dockerfile == "deploy/Dockerfile" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

func TestCompose(t *testing.T) {
	cf := loadCompose(t)
	latches := latchServices(cf)
	if len(latches) != 2 {
		t.Fatalf("compose runs %d latch services (%v), want 2", len(latches), latches)
	}
	env := readEnvFile(t, "latch.env")
	latchPort := portOf(t, env["LATCH_ADDR"])
	if !listensOnAllInterfaces(env["LATCH_ADDR"]) {
		t.Errorf("latch.env LATCH_ADDR %q is unreachable from the proxy", env["LATCH_ADDR"])
	}

	for _, name := range latches {
		svc := cf.Services[name]
		if svc.Build.Context != ".." {
			t.Errorf("%s: build context %q, want the repository root (..)", name, svc.Build.Context)
		}
		if !svc.ReadOnly || !slices.Contains(svc.Tmpfs, "/tmp") {
			t.Errorf("%s: want read_only with a tmpfs on /tmp", name)
		}
		if !slices.Equal(svc.CapDrop, []string{"ALL"}) {
			t.Errorf("%s: cap_drop = %v, want [ALL]", name, svc.CapDrop)
		}
		if !slices.Contains(svc.SecurityOpt, "no-new-privileges:true") {
			t.Errorf("%s: want security_opt no-new-privileges", name)
		}
		if len(svc.Ports) != 0 {
			t.Errorf("%s publishes %v: only the proxy should", name, svc.Ports)
		}
		if !slices.Contains(svc.Volumes, "latch-"+strings.TrimPrefix(name, "latch-")+"-data:"+env["LATCH_DATA_DIR"]) {
			t.Errorf("%s: no volume of its own on LATCH_DATA_DIR %s (volumes %v)", name, env["LATCH_DATA_DIR"], svc.Volumes)
		}
		if svc.Restart == "" || svc.Restart == "no" {
			t.Errorf("%s: restart %q; an instance that loses the first-start race must come back", name, svc.Restart)
		}
		for dep, want := range map[string]string{"mongo-init": "service_completed_successfully", "redis": "service_healthy"} {
			if got := svc.DependsOn[dep].Condition; got != want {
				t.Errorf("%s depends on %s with condition %q, want %q", name, dep, got, want)
			}
		}
		for _, s := range svc.Secrets {
			if _, ok := cf.Secrets[s]; !ok {
				t.Errorf("%s uses secret %s, which is not declared", name, s)
			}
		}
		for k, v := range svc.Environment {
			if !strings.HasSuffix(k, "_FILE") {
				t.Errorf("%s: environment %s is inline; configuration goes in latch.env, secrets in compose secrets", name, k)
				continue
			}
			secretName, ok := strings.CutPrefix(v, "/run/secrets/")
			if !ok || !slices.Contains(svc.Secrets, secretName) {
				t.Errorf("%s: %s = %s is not one of its secrets %v", name, k, v, svc.Secrets)
			}
		}
	}
	for name, s := range cf.Secrets {
		if !strings.HasPrefix(s.File, "./secrets/") {
			t.Errorf("secret %s comes from %q, want a file under secrets/ (kept out of git)", name, s.File)
		}
	}
	gitignore, err := os.ReadFile(".gitignore")
	if err != nil || !strings.Contains(string(gitignore), "/secrets/") {
		t.Error("deploy/.gitignore should keep secrets/ out of git")
	}

	// MongoDB: a replica set of the name the URI asks for, initiated before latch starts.
	mongo, init := cf.Services["mongo"], cf.Services["mongo-init"]
	i := slices.Index(mongo.Command, "--replSet")
	if i < 0 || i+1 >= len(mongo.Command) {
		t.Fatalf("mongo command %v: no --replSet", mongo.Command)
	}
	rs := mongo.Command[i+1]
	if !strings.Contains(env["LATCH_MONGO_URI"], "replicaSet="+rs) {
		t.Errorf("LATCH_MONGO_URI %q does not name the replica set %s", env["LATCH_MONGO_URI"], rs)
	}
	script, err := os.ReadFile(filepath.Join("mongo", "init-replica-set.js"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "rs.initiate(") || !strings.Contains(string(script), `_id: "`+rs+`"`) {
		t.Errorf("mongo/init-replica-set.js does not initiate %s", rs)
	}
	if !slices.ContainsFunc(init.Volumes, func(v string) bool { return strings.HasPrefix(v, "./mongo/init-replica-set.js:") }) ||
		!slices.ContainsFunc(init.Command, func(a string) bool { return strings.HasSuffix(a, "init-replica-set.js") }) {
		t.Errorf("mongo-init does not run mongo/init-replica-set.js (command %v, volumes %v)", init.Command, init.Volumes)
	}
	if init.DependsOn["mongo"].Condition != "service_healthy" {
		t.Error("mongo-init should wait for mongo to be healthy")
	}
	for _, name := range []string{"mongo", "redis"} {
		svc := cf.Services[name]
		if svc.Healthcheck == nil || len(svc.Healthcheck.Test) == 0 {
			t.Errorf("%s has no healthcheck", name)
		}
		if len(svc.Ports) != 0 {
			t.Errorf("%s publishes %v", name, svc.Ports)
		}
	}

	// The proxy: published, after both instances, sending to both and probing /readyz.
	proxy := cf.Services["proxy"]
	if len(proxy.Ports) == 0 {
		t.Error("the proxy publishes no port")
	}
	for _, name := range latches {
		if _, ok := proxy.DependsOn[name]; !ok {
			t.Errorf("the proxy does not depend on %s", name)
		}
	}
	if !slices.ContainsFunc(proxy.Volumes, func(v string) bool { return strings.HasPrefix(v, "./Caddyfile:") }) {
		t.Fatalf("the proxy does not mount ./Caddyfile (volumes %v)", proxy.Volumes)
	}
	upstreams, healthURI := readCaddyfile(t)
	var want []string
	for _, name := range latches {
		want = append(want, net.JoinHostPort(name, strconv.Itoa(latchPort)))
	}
	if !slices.Equal(slices.Sorted(slices.Values(upstreams)), want) {
		t.Errorf("Caddyfile upstreams %v, want %v", upstreams, want)
	}
	if healthURI != "/readyz" {
		t.Errorf("Caddyfile health_uri %q, want /readyz (latch's image has no shell for a compose healthcheck)", healthURI)
	}

	// latch believes the proxy's X-Forwarded-For, and only the proxy's: its fixed address,
	// in the network's subnet.
	proxyIP := proxy.Networks["default"].IPv4Address
	if proxyIP == "" || env["LATCH_TRUSTED_PROXIES"] != proxyIP {
		t.Errorf("LATCH_TRUSTED_PROXIES %q, want the proxy's fixed address %q", env["LATCH_TRUSTED_PROXIES"], proxyIP)
	}
	subnets := cf.Networks["default"].Ipam.Config
	if len(subnets) != 1 {
		t.Fatalf("the default network has %d subnets, want one fixed subnet", len(subnets))
	}
	prefix, err1 := netip.ParsePrefix(subnets[0].Subnet)
	addr, err2 := netip.ParseAddr(proxyIP)
	if err1 != nil || err2 != nil || !prefix.Contains(addr) {
		t.Errorf("the proxy's address %q is not in the network's subnet %q", proxyIP, subnets[0].Subnet)
	}
}

// readCaddyfile returns the upstreams of the reverse_proxy directive and its health_uri.
func readCaddyfile(t *testing.T) (upstreams []string, healthURI string) {
	t.Helper()
	data, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "reverse_proxy":
			for _, a := range f[1:] {
				if a != "{" {
					upstreams = append(upstreams, a)
				}
			}
		case "health_uri":
			if len(f) > 1 {
				healthURI = f[1]
			}
		}
	}
	return upstreams, healthURI
}

// dockerfile is the Dockerfile as a list of stages of instructions.
type dockerfile struct{ stages []stage }

type stage struct {
	from   string // the FROM line's arguments
	instrs []instruction
}

type instruction struct {
	cmd  string // upper case
	args string
}

func (d dockerfile) final() stage { return d.stages[len(d.stages)-1] }

func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	var pending string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if pending == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasPrefix(trimmed, "#") { // a comment inside a continued instruction
			continue
		}
		if strings.HasSuffix(trimmed, `\`) {
			pending += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		full := pending + trimmed
		pending = ""
		if full == "" {
			continue
		}
		cmd, args, _ := strings.Cut(full, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		switch {
		case in.cmd == "FROM":
			d.stages = append(d.stages, stage{from: in.args})
		case len(d.stages) == 0 && in.cmd == "ARG":
			// ARGs before the first FROM parameterize FROM lines.
		case len(d.stages) == 0:
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		default:
			s := &d.stages[len(d.stages)-1]
			s.instrs = append(s.instrs, in)
		}
	}
	if pending != "" {
		t.Fatal("Dockerfile ends in a line continuation")
	}
	if len(d.stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(d.stages))
	}
	return d
}

// parseEnvInstruction reads ENV (or ARG) arguments: KEY=VALUE pairs, or "KEY VALUE".
func parseEnvInstruction(t *testing.T, args string) map[string]string {
	t.Helper()
	out := map[string]string{}
	f := strings.Fields(args)
	if len(f) >= 2 && !strings.Contains(f[0], "=") {
		out[f[0]] = strings.Join(f[1:], " ")
		return out
	}
	for _, kv := range f {
		k, v, _ := strings.Cut(kv, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// dockerfileUser returns the numeric uid of the final stage's USER.
func dockerfileUser(t *testing.T) int64 {
	t.Helper()
	user := ""
	for _, in := range parseDockerfile(t).final().instrs {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile USER %q: want a numeric uid (runAsNonRoot can only check a number)", user)
	}
	return n
}

func TestDockerfile(t *testing.T) {
	d := parseDockerfile(t)
	build, final := d.stages[0], d.final()

	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %q, want golang:", build.from)
	}
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ARG GO_VERSION=1\.26\b`).Match(raw) {
		t.Error("the build stage should use Go 1.26, the go.mod's version")
	}
	built := false
	for _, in := range build.instrs {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			built = true
			if !strings.Contains(in.args, "CGO_ENABLED=0") {
				t.Errorf("go build without CGO_ENABLED=0: %s", in.args)
			}
			if !strings.Contains(in.args, "./cmd/latch") {
				t.Errorf("go build does not build ./cmd/latch: %s", in.args)
			}
		}
	}
	if !built {
		t.Error("the build stage runs no go build")
	}

	base := strings.Fields(final.from)[0]
	if base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %q: want scratch or distroless static", final.from)
	}
	var user, entrypoint string
	var exposed []string
	env := map[string]string{}
	copied := map[string]bool{} // destinations
	chown := map[string]bool{}  // destinations copied with --chown
	for _, in := range final.instrs {
		switch in.cmd {
		case "RUN":
			t.Errorf("RUN in the final stage (%s): it has no shell, and should need none", in.args)
		case "HEALTHCHECK":
			t.Error("HEALTHCHECK: orchestrators probe /healthz and /readyz themselves")
		case "USER":
			user = in.args
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.args)...)
		case "ENTRYPOINT":
			entrypoint = in.args
		case "ENV":
			for k, v := range parseEnvInstruction(t, in.args) {
				env[k] = v
			}
		case "COPY", "ADD":
			if in.cmd == "ADD" || !strings.Contains(in.args, "--from=") {
				t.Errorf("%s %s: the final stage takes files from the build stage only", in.cmd, in.args)
			}
			f := strings.Fields(in.args)
			copied[f[len(f)-1]] = true
			chown[f[len(f)-1]] = slices.ContainsFunc(f, func(a string) bool { return strings.HasPrefix(a, "--chown=") })
			if slices.ContainsFunc(f, func(a string) bool { return strings.HasPrefix(a, "--chmod=") }) {
				// BuildKit versions differ on --chmod of directories and drop special bits.
				t.Errorf("COPY %s: --chmod is unreliable across builders; set modes in the build stage", in.args)
			}
		}
	}
	if uid := dockerfileUser(t); uid == 0 {
		t.Errorf("USER %q is root", user)
	}
	if !listensOnAllInterfaces(env["LATCH_ADDR"]) {
		t.Errorf("ENV LATCH_ADDR %q: latch's default (localhost) is unreachable from outside the container", env["LATCH_ADDR"])
	} else if port := strconv.Itoa(portOf(t, env["LATCH_ADDR"])); !slices.Contains(exposed, port) {
		t.Errorf("EXPOSE %v does not include LATCH_ADDR's port %s", exposed, port)
	}
	uid := strconv.FormatInt(dockerfileUser(t), 10)
	for _, dir := range []string{env["LATCH_DATA_DIR"], "/tmp"} {
		if dir == "" || !copied[dir] || !chown[dir] {
			t.Errorf("%q (LATCH_DATA_DIR, /tmp) is not created owned by the user in the image", dir)
		}
	}
	for _, in := range final.instrs {
		if in.cmd == "COPY" && strings.Contains(in.args, "--chown=") && !strings.Contains(in.args, "--chown="+uid+":") {
			t.Errorf("COPY %s: owned by someone else than USER %s", in.args, uid)
		}
	}
	for _, need := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/", "/tmp"} {
		if !copied[need] {
			t.Errorf("the final stage lacks %s (CA certificates for Redis/Mongo TLS and rules' HTTPS; /etc/passwd; /tmp)", need)
		}
	}
	var ep []string
	if err := yaml.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 || !copied[ep[0]] {
		t.Errorf("ENTRYPOINT %s: want the exec form naming the copied binary", entrypoint)
	}
}

// The build context must not carry a local data directory (secret.key, the database) into
// the build stage, where COPY . . would put it in a layer.
func TestDockerignoreKeepsSecretsOut(t *testing.T) {
	data, err := os.ReadFile("Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.TrimPrefix(line, "/"))
		}
	}
	for _, need := range []string{"data", "**/secret.key", "deploy/secrets", ".git"} {
		if !slices.Contains(patterns, need) {
			t.Errorf("Dockerfile.dockerignore lacks %q", need)
		}
	}
	for _, p := range patterns {
		for _, keep := range []string{"go.mod", "go.sum", "cmd", "web", "storage"} {
			if p == keep || p == "*" {
				t.Errorf("Dockerfile.dockerignore excludes %q, which the build needs", p)
			}
		}
	}
}
