package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/sockgate/sockgate/config"
)

// version is the release version, set at build time with
// -ldflags "-X main.version=v1.2.3"; empty means the module's build info.
var version string

var versionCommand = &command{
	name:    "version",
	summary: "print sockgate's version",
	setup: func(*flag.FlagSet, config.Config) func(context.Context, *cli, []string) error {
		return func(_ context.Context, c *cli, _ []string) error {
			_, err := fmt.Fprintf(c.stdout, "sockgate %s (%s %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		}
	},
}

// buildVersion returns version, or what the build info knows: the module
// version (a tagged "go install") or the VCS revision.
func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}
