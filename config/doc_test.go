package config_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestEveryVariableDocumented: every Env* constant of config.go appears in
// the package doc and in docs/configuration.md's table, so neither can
// fall behind the code again.
func TestEveryVariableDocumented(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if strings.HasPrefix(name.Name, "Env") && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						vars = append(vars, v)
					}
				}
			}
		}
	}
	if len(vars) < 13 {
		t.Fatalf("found %d Env constants in config.go, want at least 13: %v", len(vars), vars)
	}
	pkgDoc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if !strings.Contains(string(pkgDoc), "//\t"+v+" ") {
			t.Errorf("%s is not listed in the package doc (doc.go)", v)
		}
		if !strings.Contains(string(ref), "| `"+v+"` |") {
			t.Errorf("%s has no row in docs/configuration.md", v)
		}
	}
}
