package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/store/sqlite"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module version from the build info is used.
var version = ""

// versionString is the short version: the -ldflags version, the module
// version of an installed release, or "dev" for a build from a clone.
func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionInfo is the long version: the short one, then the module path,
// the VCS revision, its time and whether the tree was modified (when the
// build recorded them), the Go version, and the SQLite engine built in.
func versionInfo() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sluice %s\n", versionString())
	goVersion := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			fmt.Fprintf(&b, "  module    %s\n", bi.Main.Path)
		}
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if rev := settings["vcs.revision"]; rev != "" {
			if settings["vcs.modified"] == "true" {
				rev += " (modified)"
			}
			fmt.Fprintf(&b, "  revision  %s\n", rev)
		}
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, "  committed %s\n", t)
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
	}
	fmt.Fprintf(&b, "  go        %s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "  sqlite    %s\n", sqlite.Driver)
	return b.String()
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of sluice and how it was built",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionInfo())
			return err
		},
	}
}
