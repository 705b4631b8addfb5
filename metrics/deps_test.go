package metrics_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestNoServerDependency checks that package metrics, which workers import,
// links neither the Socket.IO server nor the cluster manager (their
// collectors are in metrics/servermetrics).
func TestNoServerDependency(t *testing.T) {
	t.Parallel()
	const module = "github.com/sockgate/sockgate/"
	forbidden := map[string]bool{
		module + "cluster":           true,
		module + "socketio":          true,
		module + "internal/engineio": true,
	}
	seen := map[string]bool{}
	var walk func(path string, from []string)
	walk = func(path string, from []string) {
		if seen[path] {
			return
		}
		seen[path] = true
		if forbidden[path] {
			t.Errorf("metrics imports %s (through %s)", path, strings.Join(from, " -> "))
			return
		}
		pkg, err := build.Default.Import(path, ".", 0)
		if err != nil {
			t.Fatalf("import %s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, module) {
				walk(imp, append(from[:len(from):len(from)], path))
			}
		}
	}
	walk(module+"metrics", nil)
	if !seen[module+"gateway"] {
		t.Fatal("the walk did not reach gateway: it read no imports")
	}
}
