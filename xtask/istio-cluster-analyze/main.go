// istio-cluster-analyze runs every analyzer of `istioctl analyze` over YAML files as if the
// files were a cluster: Services, Namespaces, Pods and Nodes in the files are analyzed too.
//
// `istioctl analyze --use-kube=false` leaves those four kinds out of files-only analysis and
// skips every analyzer that needs one of them (port names, injection, destination hosts,
// Sidecar and AuthorizationPolicy selectors, Deployments behind several Services, ...);
// against a live cluster it reads them from the cluster instead. This program answers what
// istioctl would say against a cluster holding exactly these files, which is how Istio's own
// analyzer tests run. It is built by `cargo xtask istio-tools istio-cluster-analyze` from the
// Istio version pinned in istio-tools.toml, so it runs the same analyzers as the istioctl
// built from that pin.
//
// A namespaced object written without a namespace is placed in `default`, as `kubectl apply`
// would place it (the analyzers otherwise see it in a namespace called ""); such documents
// are written again, so their messages' line numbers are approximate.
//
// Usage: istio-cluster-analyze FILE...
// Prints the messages as `istioctl analyze -A -o json` does (a JSON array); exits 0 when the
// analysis ran, whatever it found, and 2 when a file cannot be read or parsed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/diag"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"
	"istio.io/istio/pkg/log"
	kubeyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: istio-cluster-analyze FILE...")
		os.Exit(2)
	}
	// The analyzers' informers log as they sync; only errors, and never on stdout.
	logging := log.DefaultOptions()
	logging.OutputPaths = []string{"stderr"}
	logging.ErrorOutputPaths = []string{"stderr"}
	logging.SetDefaultOutputLevel(log.OverrideScopeName, log.ErrorLevel)
	if err := log.Configure(logging); err != nil {
		fmt.Fprintf(os.Stderr, "configuring logs: %v\n", err)
		os.Exit(2)
	}
	// No namespace filter (as with -A); istio-system is the control plane's namespace.
	analyzer := local.NewSourceAnalyzer(analyzers.AllCombined(), resource.Namespace(""),
		resource.Namespace("istio-system"), nil)

	var sources []local.ReaderSource
	for _, name := range os.Args[1:] {
		text, err := os.ReadFile(name)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			os.Exit(2)
		}
		sources = append(sources, local.ReaderSource{Name: name, Reader: bytes.NewReader(inDefaultNamespace(text))})
	}
	// Documents that are not Kubernetes resources are skipped, as istioctl's --ignore-unknown
	// does; what they were is said on stderr.
	if err := analyzer.AddTestReaderKubeSource(sources); err != nil {
		fmt.Fprintf(os.Stderr, "skipped: %v\n", err)
	}
	if err := analyzer.AddDefaultResources(); err != nil {
		fmt.Fprintf(os.Stderr, "adding Istio's default resources: %v\n", err)
		os.Exit(2)
	}
	result, err := analyzer.Analyze(make(chan struct{}))
	if err != nil {
		fmt.Fprintf(os.Stderr, "analysis failed: %v\n", err)
		os.Exit(2)
	}
	messages := result.Messages
	if messages == nil {
		messages = diag.Messages{}
	}
	out, err := json.MarshalIndent(messages, "", "\t")
	if err != nil {
		fmt.Fprintf(os.Stderr, "writing the messages: %v\n", err)
		os.Exit(2)
	}
	fmt.Println(string(out))
}

// Kinds that have no namespace.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "CustomResourceDefinition": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "MutatingWebhookConfiguration": true,
	"ValidatingWebhookConfiguration": true, "GatewayClass": true, "PersistentVolume": true,
	"StorageClass": true, "PriorityClass": true, "IngressClass": true, "APIService": true,
}

// inDefaultNamespace returns the YAML stream with every namespaced object that names no
// namespace placed in `default`; documents it cannot read are passed on as they are.
func inDefaultNamespace(text []byte) []byte {
	reader := kubeyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(text)))
	var out bytes.Buffer
	for {
		doc, err := reader.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return text
		}
		var object map[string]any
		if yaml.Unmarshal(doc, &object) == nil && object != nil && withNamespace(object) {
			if again, err := yaml.Marshal(object); err == nil {
				doc = again
			}
		}
		out.WriteString("---\n")
		out.Write(doc)
		out.WriteString("\n")
	}
	return out.Bytes()
}

// withNamespace sets metadata.namespace to `default` where a namespaced object (or an item
// of a List) has none; true when it changed anything.
func withNamespace(object map[string]any) bool {
	kind, _ := object["kind"].(string)
	if kind == "" {
		return false
	}
	if items, ok := object["items"].([]any); ok && kind == "List" {
		changed := false
		for _, item := range items {
			if o, ok := item.(map[string]any); ok && withNamespace(o) {
				changed = true
			}
		}
		return changed
	}
	meta, ok := object["metadata"].(map[string]any)
	if !ok || clusterScoped[kind] {
		return false
	}
	if ns, _ := meta["namespace"].(string); ns != "" {
		return false
	}
	meta["namespace"] = "default"
	return true
}
