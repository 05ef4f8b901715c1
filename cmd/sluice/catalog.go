package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-events/sluice/event"
)

func newCatalogCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Print every event type with its description and fields",
		Long: "catalog prints every event type of the built-in catalog with its description, when it is\n" +
			"emitted, its payload fields, and the names the seed designs use for it (aliases, written\n" +
			"design:name). With --json it prints a JSON array of objects with type, description,\n" +
			"emitted, fields and aliases.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			defs := event.Types()
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(defs)
			}
			return printCatalog(cmd.OutOrStdout(), defs)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array instead of text")
	return cmd
}

func printCatalog(w io.Writer, defs []event.Definition) error {
	var b strings.Builder
	for _, d := range defs {
		fmt.Fprintf(&b, "%s\n  %s\n", d.Type, d.Description)
		if d.Emitted != "" {
			fmt.Fprintf(&b, "  emitted %s\n", d.Emitted)
		}
		writeFields(&b, d.Fields, "    ")
		if len(d.Aliases) > 0 {
			fmt.Fprintf(&b, "  aliases: %s\n", strings.Join(d.Aliases, ", "))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeFields(b *strings.Builder, fields []event.Field, indent string) {
	for _, f := range fields {
		fmt.Fprintf(b, "%s%s (%s)", indent, f.Name, f.Type)
		if f.Description != "" {
			fmt.Fprintf(b, ": %s", f.Description)
		}
		b.WriteByte('\n')
		writeFields(b, f.Fields, indent+"  ")
	}
}
